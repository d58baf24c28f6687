import { expect } from 'chai';
import { addressBlock } from '../../../service/http/address-block.js';

describe('addressBlock: what per-IP limits count by', () => {
  it('counts an IPv4 address as itself, and an IPv4 client seen through IPv6 as its IPv4, in either notation', () => {
    expect(addressBlock('203.0.113.9')).to.equal('203.0.113.9');
    expect(addressBlock('::ffff:203.0.113.9')).to.equal('203.0.113.9');
    expect(addressBlock('::FFFF:127.0.0.1')).to.equal('127.0.0.1');
    expect(addressBlock('::ffff:cb00:7109')).to.equal('203.0.113.9');
    // NAT64: each IPv4 client its own budget, not one /64 for all of them.
    expect(addressBlock('64:ff9b::203.0.113.9')).to.equal('203.0.113.9');
    expect(addressBlock('64:ff9b::c633:6401')).to.equal('198.51.100.1');
  });

  it('counts every IPv6 address of a /64 as one, however it is written', () => {
    const block = '2001:db8:1:2::/64';
    for (const ip of ['2001:db8:1:2::1', '2001:0db8:0001:0002:abcd:ef01:2345:6789', '2001:DB8:1:2:ffff::', '2001:db8:1:2:0:0:0:0']) {
      expect(addressBlock(ip), ip).to.equal(block);
    }
    expect(addressBlock('2001:db8:1:3::1')).to.not.equal(block);
  });

  it('expands :: wherever it stands, and reads an embedded IPv4 tail as the last two groups', () => {
    expect(addressBlock('::1')).to.equal('0:0:0:0::/64');
    expect(addressBlock('fe80::1')).to.equal('fe80:0:0:0::/64');
    expect(addressBlock('2001:db8::')).to.equal('2001:db8:0:0::/64');
    expect(addressBlock('1:2:3:4:5:6:1.2.3.4')).to.equal('1:2:3:4::/64');
    expect(addressBlock('::1.2.3.4')).to.equal('0:0:0:0::/64');
  });
});
