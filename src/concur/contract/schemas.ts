/**
 * Concur's API contract, one JSON Schema (draft 2020-12) per body, written from the pages of
 * Concur's developer documentation in `../shared/concur-docs/` (the source of truth; each entry
 * names its page and section in `source`, repeated in the schema's `$comment`).
 *
 * Two kinds of schema, built by two helpers so the rules hold by construction:
 * - requests (what the connector sends), `req()`: closed objects (`additionalProperties: false`,
 *   nested objects too), every documented property with its documented type, `required` exactly
 *   the properties the page marks **Required**, `enum` where the page lists "Supported values",
 *   `maxLength` / `maxItems` where it gives a maximum. Nothing else: no `format` (Concur's own
 *   examples do not follow their formats), no documented minimum values.
 * - responses (what the connector reads), `res()`: open objects (Concur's examples return
 *   undocumented properties such as `listItemUrl`), `required` = the **Required** ones, documented
 *   types, and every property that is not Required also accepts `null` (the examples return
 *   nulls). No enums or lengths: an answer carrying a value Concur added later is still read.
 *
 * Shared sub-schemas are TypeScript constants reused inline (no `$ref`), so a nullable nested
 * object is the same constant with `null` added to its `type`.
 */
import type { ContractName } from './contract.js';

type Schema = Record<string, unknown>;

export interface ContractSchema {
  /** The page and section the schema is written from: `<file in concur-docs>#<anchor>`. */
  source: string;
  schema: Schema;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const STR: Schema = { type: 'string' };
const NUM: Schema = { type: 'number' };
const INT: Schema = { type: 'integer' };
const BOOL: Schema = { type: 'boolean' };

/** A string of at most `max` characters (the page says "Maximum length"). */
const str = (max: number): Schema => ({ type: 'string', maxLength: max });
/** A string from the page's "Supported values". */
const oneOf = (...values: string[]): Schema => ({ type: 'string', enum: values });

/** A request object: closed, `required` exactly as given. */
function req(properties: Record<string, Schema>, required: string[] = []): Schema {
  for (const key of required) if (!(key in properties)) throw new Error(`required ${key} is not a property`);
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

/** The same schema that also accepts `null` (for response properties that are not Required). */
function nullable(schema: Schema): Schema {
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.anyOf)) return { ...schema, anyOf: [...(schema.anyOf as Schema[]), { type: 'null' }] };
  throw new Error('nullable: a schema with a single type or anyOf was expected');
}

/** A response object: open, `required` as given, every other property nullable. */
function res(properties: Record<string, Schema>, required: string[] = []): Schema {
  for (const key of required) if (!(key in properties)) throw new Error(`required ${key} is not a property`);
  const props: Record<string, Schema> = {};
  for (const [key, schema] of Object.entries(properties)) props[key] = required.includes(key) ? schema : nullable(schema);
  return { type: 'object', properties: props, ...(required.length > 0 ? { required } : {}) };
}

const arrayOf = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

function contract(name: ContractName, source: string, comment: string, body: Schema): ContractSchema {
  return {
    source,
    schema: {
      $schema: DRAFT,
      $id: `urn:concur-contract:${name}`,
      $comment: `Source: ${source} (../shared/concur-docs/). ${comment}`,
      ...body,
    },
  };
}

// Supported values, as listed on the pages.
const REPORT_SOURCES = ['EA', 'MOB', 'OTHER', 'SE', 'TR', 'UI'];
const EXPENSE_SOURCES = ['EA', 'MOB', 'OTHER', 'SE', 'TA', 'TR', 'UI'];
const SEGMENT_TYPE_IDS = [
  'AIRFR', 'AIRSU', 'CARRT', 'DININ', 'EVENT', 'HOTEL', 'INSUR', 'LIMOF', 'MISC', 'PARKG', 'RAILF', 'RAISU', 'TAXIF', 'VISA',
];

// ---------------------------------------------------------------------------------------------
// v4 request parts (v4.reports / v4.expenses / v4.allocations "Schema" sections)

/** Amount: both fields Required. */
const AMOUNT_REQ = req({ currencyCode: STR, value: NUM }, ['currencyCode', 'value']);

/**
 * CustomData (v4.reports.markdown#custom-data-schema, the same table on the expenses and
 * allocations pages): `id` Required (and not empty); `value` "Maximum length: 48 characters". No
 * pattern on `id`: the page's examples say `custom1`, `orgUnit1`, and its own PATCH example sends
 * `custom09`.
 */
const CUSTOM_DATA_REQ = arrayOf(req({ id: { type: 'string', minLength: 1 }, isValid: BOOL, value: str(48) }, ['id']));

const REDIRECT_FUND_REQ = req({ amount: AMOUNT_REQ, creditCardId: STR }, ['amount', 'creditCardId']);

const EXCHANGE_RATE_REQ = req({ operation: oneOf('MULTIPLY', 'DIVIDE'), value: NUM }, ['operation', 'value']);
const EXPENSE_TYPE_REQ = req({ code: STR, id: str(5), isDeleted: BOOL, name: STR }, ['id']);
const LOCATION_REQ = req({ city: STR, countryCode: STR, countrySubDivisionCode: STR, id: STR, name: STR });
/** v4.expenses.markdown Mileage: one table, read in requests and answers alike. */
const MILEAGE_PROPERTIES = {
  hasCaravanAttached: BOOL,
  hasDogIncluded: BOOL,
  hasForestOrConstructionSiteRoadInRoute: BOOL,
  hasForestRoadInRoute: BOOL,
  hasMachinery: BOOL,
  hasMobileCanteenOrHeavyLoadAttached: BOOL,
  hasTrailerAttached: BOOL,
  isMarkedAsHigherRate: BOOL,
  odometerEnd: INT,
  odometerStart: INT,
  passengerCount: INT,
  personalDistance: INT,
  routeId: STR,
  totalDistance: INT,
  vehicleId: STR,
};
const MILEAGE_REQ = req(MILEAGE_PROPERTIES, ['totalDistance', 'vehicleId']);
const PAYMENT_TYPE_REQ = req({ code: STR, id: str(4), name: STR }, ['id']);
const RECEIPT_TYPE_REQ = req({ id: oneOf('N', 'R', 'T'), status: STR }, ['id']);

const HOTEL_ERECEIPT_REQ = req({
  calculatedDailyRate: NUM,
  endDate: STR,
  locationId: STR,
  startDate: STR,
  totalAmountPaid: AMOUNT_REQ,
  vendorName: str(255),
});
const CAR_ERECEIPT_REQ = req({
  calculatedDailyRate: NUM,
  carClass: str(4),
  currencyCode: STR,
  endDate: STR,
  fuelServiceCharge: NUM,
  numberOfRentalDays: INT,
  startDate: STR,
  unitsDriven: INT,
  vendorName: str(255),
});
const ERECEIPT_REQ = req(
  {
    carEReceipt: CAR_ERECEIPT_REQ,
    hotelEReceipt: HOTEL_ERECEIPT_REQ,
    id: STR,
    imageId: STR,
    templateURL: str(512),
    type: oneOf('AIR', 'CAR', 'GASXX', 'GENERAL', 'GRTRN', 'HOTEL', 'JPT', 'MEALS', 'OFFIC', 'PRKNG', 'RAIL', 'RIDE', 'SHIPG', 'TELEC'),
  },
  ['id', 'type'],
);
const EXPENSE_ATTENDEE_REQ = req(
  {
    associatedAttendeeCount: INT,
    attendeeId: STR,
    customData: CUSTOM_DATA_REQ,
    isAmountUserEdited: BOOL,
    isTraveling: BOOL,
    transactionAmount: NUM,
    versionNumber: INT,
  },
  ['attendeeId'],
);
/** `expenseAttendeeList` is typed `ExpenseAttendee` with "Maximum attendees: 500": a list. */
const EXPENSE_ATTENDEES_REQ = req({
  expenseAttendeeList: arrayOf(EXPENSE_ATTENDEE_REQ, { maxItems: 500 }),
  noShowAttendeeCount: INT,
});
const HOTEL_TRIP_REQ = req({
  calculatedDailyRate: NUM,
  endDate: STR,
  numberOfNights: INT,
  numberOfRooms: INT,
  startDate: STR,
  totalAmountPaid: AMOUNT_REQ,
  vendorName: str(255),
});
const AIR_TRIP_REQ = req({
  airlineName: str(255),
  endDate: STR,
  numberOfTravelDays: INT,
  startDate: STR,
  ticketType: str(10),
  totalAmountPaid: AMOUNT_REQ,
});
const RIDE_TRIP_REQ = req({ startDate: STR, totalAmountPaid: AMOUNT_REQ, vendorName: str(255) });
const CAR_TRIP_REQ = req({
  calculatedDailyRate: NUM,
  carClass: str(10),
  endDate: STR,
  numberOfCars: INT,
  numberOfRentalDays: INT,
  startDate: STR,
  totalAmountPaid: AMOUNT_REQ,
  vendorName: str(255),
});
const TRIP_REQ = req(
  {
    airTrip: AIR_TRIP_REQ,
    bookingOrigin: oneOf('AETM', 'CLIQ', 'PANM', 'TRPT', 'TSUP'),
    bookingSource: str(48),
    carTrip: CAR_TRIP_REQ,
    cliqbookPaymentId: INT,
    cliqbookPaymentMethod: oneOf('GHOST_CARD', 'FLGHT_PASS'),
    hotelTrip: HOTEL_TRIP_REQ,
    merchantCode: str(4),
    rideTrip: RIDE_TRIP_REQ,
    segmentId: INT,
    segmentTypeId: oneOf(...SEGMENT_TYPE_IDS),
    startLocationId: STR,
    tripId: INT,
  },
  ['segmentId', 'segmentTypeId', 'tripId'],
);
const SMART_EXPENSE_REQ = req({
  creditCardTransactionId: STR,
  ereceipt: ERECEIPT_REQ,
  expenseAttendees: EXPENSE_ATTENDEES_REQ,
  isAutoCreated: BOOL,
  personalCardTransactionId: STR,
  quickExpenseId: STR,
  trip: TRIP_REQ,
});
const EXPENSE_TAX_REQ = req(
  {
    customData: CUSTOM_DATA_REQ,
    reclaimCode: str(20),
    reclaimTransactionAmount: NUM,
    taxAuthorityId: STR,
    taxAuthorityName: STR,
    taxCode: str(20),
    taxFormId: STR,
    taxLabel: STR,
    taxRateTypeId: STR,
    taxRateTypeName: STR,
    taxReclaimConfigurationId: STR,
    taxTransactionAmount: NUM,
  },
  ['taxAuthorityId'],
);
const TAX_REQ = req({ expenseTax1: EXPENSE_TAX_REQ, expenseTax2: EXPENSE_TAX_REQ }, ['expenseTax1']);
const TRAVEL_REQ = req({
  airlineFeeTypeCode: oneOf('BAGGS', 'BUSIN', 'OBENT', 'ONBRD', 'OTHER', 'PRACC', 'SEATS', 'TKCHG', 'UPGRD'),
  airlineFeeTypeName: STR,
  airlineServiceClassCode: oneOf('BUSIN', 'COACH', 'FIRST'),
  airlineServiceClassName: STR,
  carRentalDays: INT,
  endLocation: str(100),
  hotelCheckinDate: STR,
  hotelCheckoutDate: STR,
  startLocation: str(100),
  ticketNumber: str(32),
});
const TRAVEL_ALLOWANCE_REQ = req({ dailyLimitAmount: NUM, dailyTravelAllowanceId: str(32), isExpensePartOfTravelAllowance: BOOL });
const VENDOR_REQ = req({ description: str(64), id: STR, name: STR });

// ---------------------------------------------------------------------------------------------
// v4 response parts

const AMOUNT = res({ currencyCode: STR, value: NUM }, ['currencyCode', 'value']);
/** CustomData as read: `listItemUrl` and other undocumented members pass (open object). */
const CUSTOM_DATA = arrayOf(res({ id: STR, isValid: BOOL, value: STR }, ['id']));
/** Link: typed `Link` on the pages, an array of them in every example. */
const LINKS = arrayOf(
  res(
    { deprecation: STR, href: STR, hreflang: STR, isTemplated: BOOL, media: STR, method: STR, rel: STR, title: STR, type: STR },
    ['href', 'isTemplated', 'method', 'rel'],
  ),
);
const REDIRECT_FUND = res({ amount: AMOUNT, creditCardId: STR }, ['amount', 'creditCardId']);
const EXCHANGE_RATE = res({ operation: STR, value: NUM }, ['operation', 'value']);
const EXPENSE_SOURCE_IDENTIFIERS = res({
  creditCardTransactionId: STR,
  ereceiptId: STR,
  expenseCaptureImageId: STR,
  jptRouteId: STR,
  personalCardTransactionId: STR,
  quickExpenseId: STR,
  segmentId: INT,
  segmentTypeId: STR,
  tripId: INT,
});
const EXPENSE_TAX_SUMMARY = res({
  netAdjustedTaxAmount: AMOUNT,
  netReclaimAdjustedAmount: AMOUNT,
  netReclaimAmount: AMOUNT,
  netTaxAmount: AMOUNT,
  totalReclaimAdjustedAmount: AMOUNT,
  totalReclaimPostedAmount: AMOUNT,
  totalTaxAdjustedAmount: AMOUNT,
  totalTaxPostedAmount: AMOUNT,
  vatTaxTotal: AMOUNT,
});
const EXPENSE_TYPE = res({ code: STR, id: STR, isDeleted: BOOL, name: STR }, ['id']);
const LOCATION = res({ city: STR, countryCode: STR, countrySubDivisionCode: STR, id: STR, name: STR });
const MILEAGE = res(MILEAGE_PROPERTIES, ['totalDistance', 'vehicleId']);
const PAYMENT_TYPE = res({ code: STR, id: STR, name: STR }, ['id']);
const RECEIPT_TYPE = res({ id: STR, status: STR }, ['id']);
const TRAVEL = res({
  airlineFeeTypeCode: STR,
  airlineFeeTypeName: STR,
  airlineServiceClassCode: STR,
  airlineServiceClassName: STR,
  carRentalDays: INT,
  endLocation: STR,
  hotelCheckinDate: STR,
  hotelCheckoutDate: STR,
  startLocation: STR,
  ticketNumber: STR,
});
const TRAVEL_ALLOWANCE = res({ dailyLimitAmount: NUM, dailyTravelAllowanceId: STR, isExpensePartOfTravelAllowance: BOOL });
const VENDOR = res({ description: STR, id: STR, name: STR });
/** ValidationError: typed `ValidationError` for "The validation error messages": a list. */
const VALIDATION_ERRORS = arrayOf(res({ id: STR, message: STR, source: STR }));

// ---------------------------------------------------------------------------------------------
// v3 (Entries.swagger2.json)

const V3_CUSTOM_FIELD_NAMES = [
  ...Array.from({ length: 40 }, (_, i) => `Custom${i + 1}`),
  ...Array.from({ length: 6 }, (_, i) => `OrgUnit${i + 1}`),
];

/** EntryPut's Custom1..40 / OrgUnit1..6 are plain strings; CustomField.Value says "Maximum length: 48 characters". */
const V3_CUSTOM_PUT: Record<string, Schema> = Object.fromEntries(V3_CUSTOM_FIELD_NAMES.map((n) => [n, str(48)]));
/** EntryGet's Custom1..40 / OrgUnit1..6 are CustomField objects. */
const V3_CUSTOM_FIELD = res({ Code: STR, ListItemID: STR, Type: STR, Value: STR });
const V3_CUSTOM_GET: Record<string, Schema> = Object.fromEntries(V3_CUSTOM_FIELD_NAMES.map((n) => [n, V3_CUSTOM_FIELD]));

const V3_JOURNEY_PROPS = {
  BusinessDistance: INT,
  EndLocation: str(100),
  NumberOfPassengers: INT,
  OdometerEnd: INT,
  OdometerStart: INT,
  PersonalDistance: INT,
  StartLocation: str(100),
  UnitOfMeasure: oneOf('M', 'K'),
  VehicleID: STR,
};
const V3_JOURNEY_REQ = req(V3_JOURNEY_PROPS);
const V3_JOURNEY = res({ ...V3_JOURNEY_PROPS, EndLocation: STR, StartLocation: STR, UnitOfMeasure: STR });

// ---------------------------------------------------------------------------------------------
// OAuth2 (apidoc.markdown)

/** `"3600"` in every example on the page (a string, as its table says), a number in RFC 6749 5.1. */
const SECONDS: Schema = { anyOf: [{ type: 'string', pattern: '^[0-9]+$' }, { type: 'number' }] };

// ---------------------------------------------------------------------------------------------

export const CONTRACT_SCHEMAS: Record<ContractName, ContractSchema> = {
  'v3.EntryPut': contract(
    'v3.EntryPut',
    'Entries.swagger2.json#/definitions/EntryPut',
    'PUT /api/v3.0/expense/entries/{id}, "the partial or complete expense entry object to update": every EntryPut property ' +
      'with its swagger type, none required (the definition marks none; the Required markers of ' +
      'expense-entry.markdown#entry are for creating an entry, and for Journey on a mileage entry). Custom1..40 and ' +
      'OrgUnit1..6 are strings of at most 48 characters (CustomField.Value: "Maximum length: 48 characters"). ' +
      'Lengths and supported values from the property descriptions.',
    req({
      Comment: str(500),
      ...V3_CUSTOM_PUT,
      Description: str(64),
      ExchangeRate: NUM,
      ExpenseTypeCode: STR,
      IsBillable: BOOL,
      IsPersonal: BOOL,
      Journey: V3_JOURNEY_REQ,
      LocationID: STR,
      PaymentTypeID: STR,
      ReportID: STR,
      TaxReceiptType: oneOf('T', 'R', 'N'),
      TransactionAmount: NUM,
      TransactionCurrencyCode: STR,
      TransactionDate: STR,
      VendorDescription: str(64),
      VendorListItemID: STR,
    }),
  ),

  'v3.EntryGet': contract(
    'v3.EntryGet',
    'Entries.swagger2.json#/definitions/EntryGet',
    'An expense entry as read (GET /api/v3.0/expense/entries/{id}): the swagger types, nothing required, every ' +
      'property may be null; Custom1..40 and OrgUnit1..6 are CustomField objects {Type, Value, Code, ListItemID}.',
    res({
      AllocationType: STR,
      ApprovedAmount: NUM,
      CompanyCardTransactionID: STR,
      ...V3_CUSTOM_GET,
      Description: STR,
      ElectronicReceiptID: STR,
      EmployeeBankAccountID: STR,
      ExchangeRate: NUM,
      ExpenseTypeCode: STR,
      ExpenseTypeName: STR,
      FormID: STR,
      HasAppliedCashAdvance: BOOL,
      HasAttendees: BOOL,
      HasComments: BOOL,
      HasExceptions: BOOL,
      HasImage: BOOL,
      HasItemizations: BOOL,
      HasVAT: BOOL,
      ID: STR,
      IsBillable: BOOL,
      IsImageRequired: BOOL,
      IsPaidByExpensePay: BOOL,
      IsPersonal: BOOL,
      IsPersonalCardCharge: BOOL,
      Journey: V3_JOURNEY,
      LastModified: STR,
      LocationCountry: STR,
      LocationID: STR,
      LocationName: STR,
      LocationSubdivision: STR,
      PaymentTypeID: STR,
      PaymentTypeName: STR,
      PostedAmount: NUM,
      ReceiptReceived: BOOL,
      ReportID: STR,
      ReportOwnerID: STR,
      SpendCategoryCode: STR,
      SpendCategoryName: STR,
      TaxReceiptType: STR,
      TransactionAmount: NUM,
      TransactionCurrencyCode: STR,
      TransactionDate: STR,
      TripID: STR,
      URI: STR,
      VendorDescription: STR,
      VendorListItemID: STR,
      VendorListItemName: STR,
    }),
  ),

  'v3.Error': contract(
    'v3.Error',
    'http-status-codes.markdown#error-elements',
    'A failed v3 request: "Content: a parent element that contains an Error child element" (section Failed Requests), ' +
      'whose elements are Message, Server-Time and Id (section Error elements). Error and its Message required.',
    res({ Error: res({ Id: STR, Message: STR, 'Server-Time': STR }, ['Message']) }, ['Error']),
  ),

  'v4.ReportDetails': contract(
    'v4.ReportDetails',
    'v4.reports.markdown#report-details-schema',
    'GET .../reports/{reportId}. `links` is typed Link and `customData` CustomData on the page; both are arrays in ' +
      'the example, and modelled so.',
    res(
      {
        allocationFormId: STR,
        amountCompanyPaid: AMOUNT,
        amountDueCompany: AMOUNT,
        amountDueCompanyCard: AMOUNT,
        amountDueEmployee: AMOUNT,
        amountNotApproved: AMOUNT,
        analyticsGroupId: STR,
        approvalStatus: STR,
        approvalStatusId: STR,
        approvedAmount: AMOUNT,
        businessPurpose: STR,
        canRecall: BOOL,
        canReopen: BOOL,
        cardProgramStatementPeriodId: STR,
        claimedAmount: AMOUNT,
        concurAuditStatus: STR,
        country: STR,
        countryCode: STR,
        countrySubDivisionCode: STR,
        creationDate: STR,
        currency: STR,
        currencyCode: STR,
        customData: CUSTOM_DATA,
        endDate: STR,
        hierarchyNodeId: STR,
        isFinancialIntegrationEnabled: BOOL,
        isPaperReceiptsReceived: BOOL,
        isReceiptImageAvailable: BOOL,
        isReceiptImageRequired: BOOL,
        isReopened: BOOL,
        ledger: STR,
        ledgerId: STR,
        links: LINKS,
        name: STR,
        paymentConfirmedAmount: AMOUNT,
        paymentStatus: STR,
        paymentStatusId: STR,
        personalAmount: AMOUNT,
        policy: STR,
        policyId: STR,
        redirectFund: REDIRECT_FUND,
        reportDate: STR,
        reportFormId: STR,
        reportId: STR,
        reportNumber: STR,
        reportTotal: AMOUNT,
        reportType: STR,
        reportVersion: INT,
        startDate: STR,
        submitDate: STR,
        submitterId: STR,
        taxConfigId: STR,
        userId: STR,
      },
      [
        'amountCompanyPaid',
        'amountDueCompany',
        'amountDueCompanyCard',
        'amountDueEmployee',
        'amountNotApproved',
        'analyticsGroupId',
        'approvalStatus',
        'approvalStatusId',
        'approvedAmount',
        'canRecall',
        'claimedAmount',
        'concurAuditStatus',
        'creationDate',
        'currency',
        'currencyCode',
        'hierarchyNodeId',
        'isFinancialIntegrationEnabled',
        'isPaperReceiptsReceived',
        'isReceiptImageAvailable',
        'isReceiptImageRequired',
        'ledger',
        'ledgerId',
        'name',
        'paymentConfirmedAmount',
        'paymentStatus',
        'paymentStatusId',
        'personalAmount',
        'policy',
        'policyId',
        'reportFormId',
        'reportId',
        'reportTotal',
        'reportVersion',
        'userId',
      ],
    ),
  ),

  'v4.UpdateReport': contract(
    'v4.UpdateReport',
    'v4.reports.markdown#update-report-schema',
    'PATCH .../reports/{reportId} (JSON Merge Patch). reportSource Required; CustomData per #custom-data-schema.',
    req(
      {
        businessPurpose: STR,
        comment: STR,
        country: STR,
        countryCode: STR,
        countrySubDivisionCode: STR,
        customData: CUSTOM_DATA_REQ,
        endDate: STR,
        isCopyDownInherited: BOOL,
        isPaperReceiptsReceived: BOOL,
        name: STR,
        policy: STR,
        policyId: STR,
        redirectFund: REDIRECT_FUND_REQ,
        reportDate: STR,
        reportSource: oneOf(...REPORT_SOURCES),
        startDate: STR,
      },
      ['reportSource'],
    ),
  ),

  'v4.ReportExpenseDetail': contract(
    'v4.ReportExpenseDetail',
    'v4.expenses.markdown#report-expense-detail-schema',
    'GET .../reports/{reportId}/expenses/{expenseId}. `links` and `customData` are arrays as in the example.',
    res(
      {
        allocationSetId: STR,
        allocationState: STR,
        approvedAmount: AMOUNT,
        approverAdjustedAmount: AMOUNT,
        attendeeCount: INT,
        authorizationRequestExpenseId: STR,
        budgetAccrualDate: STR,
        businessPurpose: STR,
        claimedAmount: AMOUNT,
        customData: CUSTOM_DATA,
        ereceiptImageId: STR,
        exchangeRate: EXCHANGE_RATE,
        expenseId: STR,
        expenseSourceIdentifiers: EXPENSE_SOURCE_IDENTIFIERS,
        expenseTaxSummary: EXPENSE_TAX_SUMMARY,
        expenseType: EXPENSE_TYPE,
        hasBlockingExceptions: BOOL,
        hasExceptions: BOOL,
        hasMissingReceiptDeclaration: BOOL,
        imageCertificationStatus: STR,
        isAutoCreated: BOOL,
        isExcludedFromCashAdvanceByUser: BOOL,
        isExpenseBillable: BOOL,
        isExpenseRejected: BOOL,
        isImageRequired: BOOL,
        isPaperReceiptReceived: BOOL,
        isPaperReceiptRequired: BOOL,
        isPersonalExpense: BOOL,
        jptRouteId: STR,
        links: LINKS,
        location: LOCATION,
        merchantTaxId: STR,
        mileage: MILEAGE,
        parentExpenseId: STR,
        paymentType: PAYMENT_TYPE,
        postedAmount: AMOUNT,
        receiptImageId: STR,
        receiptType: RECEIPT_TYPE,
        taxRateLocation: STR,
        transactionAmount: AMOUNT,
        transactionDate: STR,
        travel: TRAVEL,
        travelAllowance: TRAVEL_ALLOWANCE,
        vendor: VENDOR,
      },
      [
        'allocationState',
        'exchangeRate',
        'expenseId',
        'expenseType',
        'hasBlockingExceptions',
        'hasExceptions',
        'isAutoCreated',
        'isExcludedFromCashAdvanceByUser',
        'isExpenseBillable',
        'isExpenseRejected',
        'isImageRequired',
        'isPaperReceiptReceived',
        'isPaperReceiptRequired',
        'isPersonalExpense',
        'paymentType',
        'postedAmount',
        'taxRateLocation',
        'transactionAmount',
      ],
    ),
  ),

  'v4.UpdateReportExpense': contract(
    'v4.UpdateReportExpense',
    'v4.expenses.markdown#update-report-expense-schema',
    'PATCH .../users/{userID}/context/{contextType}/reports/{reportId}/expenses/{expenseId}: an expense in an ' +
      'unsubmitted report (JSON Merge Patch). expenseSource Required; nested types from the same page.',
    req(
      {
        approverAdjustedAmount: AMOUNT_REQ,
        authorizationRequestExpenseId: STR,
        budgetAccrualDate: STR,
        businessPurpose: str(64),
        comment: str(2000),
        customData: CUSTOM_DATA_REQ,
        exchangeRate: EXCHANGE_RATE_REQ,
        expenseSource: oneOf(...EXPENSE_SOURCES),
        expenseType: EXPENSE_TYPE_REQ,
        hasMissingReceiptDeclaration: BOOL,
        isCopyDownInherited: BOOL,
        isExcludedFromCashAdvanceByUser: BOOL,
        isExpenseBillable: BOOL,
        isExpenseRejected: BOOL,
        isPaperReceiptReceived: BOOL,
        isPersonalExpense: BOOL,
        jptRouteId: STR,
        location: LOCATION_REQ,
        merchantTaxId: str(64),
        mileage: MILEAGE_REQ,
        paymentType: PAYMENT_TYPE_REQ,
        receiptImageId: STR,
        receiptType: RECEIPT_TYPE_REQ,
        smartExpense: SMART_EXPENSE_REQ,
        tax: TAX_REQ,
        taxRateLocation: oneOf('FOREIGN', 'HOME', 'OUT_OF_PROVINCE'),
        transactionAmount: AMOUNT_REQ,
        transactionDate: STR,
        travel: TRAVEL_REQ,
        travelAllowance: TRAVEL_ALLOWANCE_REQ,
        vendor: VENDOR_REQ,
      },
      ['expenseSource'],
    ),
  ),

  'v4.UpdateReportExpenseCompact': contract(
    'v4.UpdateReportExpenseCompact',
    'v4.expenses.markdown#update-report-expense-compact-schema',
    'PATCH .../reports/{reportId}/expenses/{expenseId}: an expense in a submitted (or unsubmitted) report, ' +
      '"restricted to modify Business Purpose and Custom/Org unit fields only". expenseSource Required; CustomData per ' +
      '#report-expense-custom-data-schema.',
    req({ businessPurpose: str(64), customData: CUSTOM_DATA_REQ, expenseSource: oneOf(...EXPENSE_SOURCES) }, ['expenseSource']),
  ),

  'v4.ReportAllocationResponse': contract(
    'v4.ReportAllocationResponse',
    'v4.allocations.markdown#report-allocation-response-schema',
    'One allocation (GET .../allocations/{allocationId}; the list GET returns an array of these).',
    res(
      {
        accountCode: STR,
        allocationAmount: AMOUNT,
        allocationId: STR,
        approvedAmount: AMOUNT,
        claimedAmount: AMOUNT,
        customData: CUSTOM_DATA,
        expenseId: STR,
        isPercentEdited: BOOL,
        isSystemAllocation: BOOL,
        overLimitAccountCode: STR,
        percentage: NUM,
      },
      ['allocationId', 'expenseId', 'isPercentEdited', 'isSystemAllocation', 'percentage'],
    ),
  ),

  'v4.UpdateReportAllocation': contract(
    'v4.UpdateReportAllocation',
    'v4.allocations.markdown#update-report-allocation-schema',
    'PATCH .../allocations/{allocationId}. Both members Required. `expenseIds`: the table says type string, but its ' +
      'description says "an array of unique identifiers of expenses" and the page\'s example sends ' +
      '["29EE3C62F5D844458828A5C1086072D1"]: modelled as an array of non-empty strings, at least one. `allocation` ' +
      'is UpdateAllocation (#update-allocation-schema): customData only.',
    req(
      {
        allocation: req({ customData: CUSTOM_DATA_REQ }),
        expenseIds: arrayOf({ type: 'string', minLength: 1 }, { minItems: 1 }),
      },
      ['allocation', 'expenseIds'],
    ),
  ),

  'v4.ErrorMessage': contract(
    'v4.ErrorMessage',
    'v4.reports.markdown#error-message-schema',
    'The error body of the Expense Reports v4 APIs (the same table on the expenses and allocations pages). ' +
      '`validationErrors` is typed ValidationError for "the validation error messages": an array of them.',
    res(
      {
        errorId: STR,
        errorMessage: STR,
        httpStatus: STR,
        path: STR,
        timestamp: STR,
        validationErrors: VALIDATION_ERRORS,
      },
      ['errorMessage', 'httpStatus', 'path', 'timestamp'],
    ),
  ),

  'oauth.TokenResponse': contract(
    'oauth.TokenResponse',
    'apidoc.markdown#access_token',
    'The Oauth2 /token answer, which "can, depending on grant type, contain these values": only access_token is ' +
      'required. expires_in is a string on the page ("3600" in every example) and refresh_expires_in (section ' +
      'enterprise-business-applications) has no type: both accept a string of digits or a number.',
    res(
      {
        access_token: STR,
        expires_in: SECONDS,
        geolocation: STR,
        id_token: STR,
        refresh_expires_in: SECONDS,
        refresh_token: STR,
        scope: STR,
        token_type: STR,
      },
      ['access_token'],
    ),
  ),

  'oauth.Error': contract(
    'oauth.Error',
    'apidoc.markdown#response_codes',
    '"4xx class errors have a JSON response with the following fields": code <number>, error, error_description, ' +
      'geolocation. None is marked required; at least one of code and error must be there to be an error at all. ' +
      'code is also accepted as a string of digits.',
    {
      ...res({
        code: { anyOf: [{ type: 'number' }, { type: 'string', pattern: '^[0-9]+$' }] },
        error: STR,
        error_description: STR,
        geolocation: STR,
      }),
      anyOf: [
        { properties: { code: { not: { type: 'null' } } }, required: ['code'] },
        { properties: { error: { not: { type: 'null' } } }, required: ['error'] },
      ],
    },
  ),

  'oauth.RefreshTokenRequest': contract(
    'oauth.RefreshTokenRequest',
    'apidoc.markdown#refresh_token',
    'The form fields (application/x-www-form-urlencoded) of POST /oauth2/v0/token for the refresh grant, as an ' +
      'object of strings: client_id, client_secret, refresh_token and grant_type Required, scope Optional.',
    req(
      {
        client_id: STR,
        client_secret: STR,
        grant_type: { type: 'string', const: 'refresh_token' },
        refresh_token: STR,
        scope: STR,
      },
      ['client_id', 'client_secret', 'refresh_token', 'grant_type'],
    ),
  ),

  'oauth.AuthorizationCodeRequest': contract(
    'oauth.AuthorizationCodeRequest',
    'apidoc.markdown#auth_grant',
    'The form fields of POST /oauth2/v0/token exchanging the code of the authorization grant, as an object of ' +
      'strings. The page\'s table marks none Required; all five are required because RFC 6749 section 4.1.3 (which ' +
      'the page cites for this grant) requires grant_type, code and redirect_uri (when sent to /authorize), and the ' +
      'client authenticates with client_id and client_secret.',
    req(
      {
        client_id: STR,
        client_secret: STR,
        code: STR,
        grant_type: { type: 'string', const: 'authorization_code' },
        redirect_uri: STR,
      },
      ['client_id', 'client_secret', 'redirect_uri', 'code', 'grant_type'],
    ),
  ),
};
