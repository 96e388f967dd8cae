# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"

# The extension allocates from its own allocator (mimalloc, unless built with
# HANAMI_GUARD_ALLOCATOR=system). A Puma in cluster mode forks its workers from a process that
# has already used the extension, possibly while other threads were inside it: the child must
# go on allocating and freeing what it inherited and what it makes.
RSpec.describe "the extension's allocator" do
  let(:ca) { HanamiGuard::Testing::CA.new }
  let(:store) { ca.trust_store(cache_size: 0) }
  let(:leaves) do
    Array.new(4) { |i| ca.issue(subject: "CN=client-#{i},O=MyOrg", spiffe_id: "spiffe://example.org/c#{i}") }
  end

  it "is named by the build" do
    expect(%w[mimalloc system]).to include(HanamiGuard::Native::ALLOCATOR)
  end

  it "keeps working in a child forked while other threads verify chains without the GVL" do
    pems = leaves.map(&:to_pem)
    stop = false
    workers = Array.new(2) do |w|
      Thread.new do
        n = 0
        until stop
          cert = HanamiGuard::Certificate.parse(pems[(n + w) % pems.size])
          store.verify(cert, intermediates: cert.chain)
          n += 1
        end
        n
      end
    end
    sleep 0.05 until workers.all? { |t| t.status == "run" || t.status == "sleep" }
    inherited = leaves.first
    statuses = Array.new(3) do
      pid = fork do
        ok = inherited.fingerprint == leaves.first.fingerprint
        200.times do |i|
          cert = HanamiGuard::Certificate.parse(pems[i % pems.size])
          ok &&= store.verified?(cert, intermediates: cert.chain) && cert.dns_names.frozen?
          ok &&= HanamiGuard::Certificate.parse(cert.to_der).fingerprint == cert.fingerprint
        end
        exit!(ok ? 0 : 1)
      end
      Process.wait2(pid).last
    end
    stop = true
    expect(workers.map(&:value)).to all(be > 0)
    expect(statuses.map(&:exitstatus)).to eq([0, 0, 0])
  end
end
