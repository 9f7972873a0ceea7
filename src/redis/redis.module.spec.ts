import { AppConfig } from '../config/index.js';
import { Test } from '@nestjs/testing';
import { Global, Module } from '@nestjs/common';
import { REDIS, RedisModule, redactedRedisUrl } from './redis.module.js';

describe(redactedRedisUrl.name, () => {
  it.each([
    ['redis://user:s3cret@cache.internal:6379/2', 'redis://cache.internal:6379/2'],
    ['rediss://:s3cret@cache.internal:6380', 'rediss://cache.internal:6380'],
    ['redis://cache.internal:6379/0?password=s3cret&db=1', 'redis://cache.internal:6379/0'],
    ['not a url', 'redis://(unparseable URL)'],
  ])('shows %s as %s', (url, shown) => {
    expect(redactedRedisUrl(url)).toBe(shown);
    expect(redactedRedisUrl(url)).not.toContain('s3cret');
  });
});

describe(RedisModule.name, () => {
  async function boot(url?: string) {
    const config = new AppConfig();
    config.redis.url = url;
    @Global()
    @Module({ providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] })
    class TestConfigModule {}
    return Test.createTestingModule({ imports: [TestConfigModule, RedisModule] }).compile();
  }

  it('provides null without a Redis URL (the memory stores are used)', async () => {
    const moduleRef = await boot();
    expect(moduleRef.get(REDIS)).toBeNull();
    await moduleRef.close();
  });

  it('refuses to start when Redis cannot be reached, naming the host but not the password', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const failure = boot('redis://:s3cret@127.0.0.1:1/0?password=s3cret');
    await expect(failure).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:1\/0 cannot be reached/);
    await expect(failure).rejects.not.toThrow(/s3cret/);
  });
});
