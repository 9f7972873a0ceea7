/** The part of hbs (Express's Handlebars view engine, no bundled types) the connector uses. */
declare module 'hbs' {
  interface Hbs {
    registerHelper(name: string, helper: (...args: never[]) => unknown): void;
  }
  const hbs: Hbs;
  export default hbs;
}
