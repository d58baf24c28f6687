import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { arrivalTime, seededRandom } from '../../../hack/load/engine.js';
import { loopbackUrl } from '../../../hack/load/loopback.js';
import { arrivalsBy, fillTemplate, parseProfile, scaleProfile } from '../../../hack/load/profile.js';

const profileText = readFileSync(new URL('../../../hack/load/profile.yaml', import.meta.url), 'utf8');

describe('hack/load profile', function () {
  describe('parseProfile(hack/load/profile.yaml)', function () {
    const profile = parseProfile(profileText);

    it("has the guide's four phases: warm-up 10 → 50, sustained 50, ramp 50 → 100, high load 100 arrivals/s", function () {
      expect(profile.phases).to.deep.equal([
        { name: 'Warm up', durationSeconds: 60, arrivalRate: 10, rampTo: 50 },
        { name: 'Sustained load', durationSeconds: 120, arrivalRate: 50 },
        { name: 'Ramp up', durationSeconds: 60, arrivalRate: 50, rampTo: 100 },
        { name: 'High load', durationSeconds: 300, arrivalRate: 100 },
      ]);
      expect(profile.payloadFields).to.deep.equal(['email', 'password']);
      expect(profile.timeoutSeconds).to.equal(10);
    });

    it('sends 80 % of virtual users through login then me with the captured token, 20 % through register', function () {
      const [auth, register] = profile.scenarios;
      expect(auth?.weight).to.equal(80);
      expect(auth?.flow.map((s) => `${s.method} ${s.url}`)).to.deep.equal(['POST /api/auth/login', 'GET /api/auth/me']);
      expect(auth?.flow[0]?.capture).to.deep.equal([{ field: 'access_token', as: 'token' }]);
      expect(auth?.flow[1]?.headers).to.deep.equal({ Authorization: 'Bearer {{ token }}' });
      expect(register?.weight).to.equal(20);
      expect(register?.flow.map((s) => `${s.method} ${s.url}`)).to.deep.equal(['POST /api/auth/register']);
    });

    it('targets loopback only', function () {
      expect(loopbackUrl(profile.target)).to.equal('http://127.0.0.1:8090');
    });

    it('refuses what it would otherwise ignore, by name', function () {
      expect(() => parseProfile(profileText.replace('  http:\n', '  plugins: {}\n  http:\n'))).to.throw(/config: plugins not supported/);
      expect(() => parseProfile(profileText.replace('      - get:', '      - think: 1\n      - get:'))).to.throw(/flow\[1\]: expected one "get" or "post", got think/);
    });
  });

  describe('arrivals', function () {
    it('add up to the rate times the duration, ramps included (the guide: 42,300 virtual users in 9 minutes)', function () {
      const phases = parseProfile(profileText).phases;
      expect(phases.map((p) => arrivalsBy(p, p.durationSeconds))).to.deep.equal([1800, 6000, 4500, 30000]);
    });

    it('are due at the inverse of that sum, evenly at a fixed rate and closer together along a ramp', function () {
      const ramp = { name: 'r', durationSeconds: 60, arrivalRate: 10, rampTo: 50 };
      for (const i of [0, 1, 100, 1799]) expect(arrivalsBy(ramp, arrivalTime(ramp, i))).to.be.closeTo(i, 1e-6);
      expect(arrivalTime({ name: 'f', durationSeconds: 10, arrivalRate: 4 }, 6)).to.equal(1.5);
      expect(arrivalTime(ramp, 1) - arrivalTime(ramp, 0)).to.be.greaterThan(arrivalTime(ramp, 1799) - arrivalTime(ramp, 1798));
    });

    it('scale in time and in rate for a shorter or lighter run', function () {
      const quick = scaleProfile(parseProfile(profileText), 0.1, 0.1);
      expect(quick.phases[0]).to.deep.equal({ name: 'Warm up', durationSeconds: 6, arrivalRate: 1, rampTo: 5 });
    });

    it('pick scenarios by weight from a seeded generator', function () {
      const random = seededRandom(7);
      const draws = Array.from({ length: 100_000 }, random);
      expect(draws.every((d) => d >= 0 && d < 1)).to.equal(true);
      expect(draws.filter((d) => d < 0.8).length / draws.length).to.be.closeTo(0.8, 0.01);
      expect(seededRandom(7)()).to.equal(draws[0]);
    });
  });

  it('fills {{ variables }} and {{ $randomString() }} anywhere in a body, and says which variable is missing', function () {
    const filled = fillTemplate({ email: 'test+{{ $randomString() }}@example.com', nested: ['{{ token }}'] }, { token: 't1' }, () => 'abc');
    expect(filled).to.deep.equal({ email: 'test+abc@example.com', nested: ['t1'] });
    expect(() => fillTemplate('Bearer {{ token }}', {}, () => '')).to.throw('{{ token }} is not set');
  });

  it('sends load only to loopback', function () {
    for (const ok of ['http://127.0.0.1:8090', 'http://localhost:3000/x', 'http://[::1]:8090', 'http://127.1.2.3']) expect(() => loopbackUrl(ok), ok).not.to.throw();
    for (const bad of ['http://10.0.0.1:8090', 'http://192.168.1.2', 'http://example.com', 'https://127.0.0.1:8090', 'not a url']) expect(() => loopbackUrl(bad), bad).to.throw();
  });
});
