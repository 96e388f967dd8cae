# frozen_string_literal: true

# Guards are built once at boot and shared by every Puma thread without locks. Here 16 Ruby
# threads drive every capability at once through the same objects, and every result is checked.
RSpec.describe "guards shared by 16 threads" do
  let(:threads_count) { 16 }
  let(:rounds) { GcStress.size(25) } # 2 rounds under GC_STRESS: 16 threads keep it inside the extension

  before(:all) do
    @pki = CertFactory.chain(uris: ["spiffe://prod.example.org/ns/ops/sa/deployer"], dns: ["api.internal"])
    @contractor = CertFactory.leaf(issuer: @pki[:intermediate], subject: "/O=MyOrg/OU=Contractors/CN=alice")
    @dir = Dir.mktmpdir
    Dir.mkdir(File.join(@dir, "base"))
    File.write(File.join(@dir, "secret"), "outside")
    @trust = HanamiGuard::TrustStore.new(@pki[:root].to_pem)
    @intermediate = HanamiGuard::Certificate.parse(@pki[:intermediate].to_pem)
    @root = HanamiGuard::Root.new(File.join(@dir, "base"))
    @command = HanamiGuard::Command.new("printf %s-%s {who} {n}", allow: { who: /[a-z]+/, n: /\d+/ }, timeout: 10)
    @policy = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[workers/*], principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/**" }],
                     id: "ops"
      deny :*, resources: %w[workers/*], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
    end
  end

  after(:all) do
    @root.close
    FileUtils.remove_entry(@dir)
  end

  it "gives every thread correct results from the same Certificate, TrustStore, Root, Command and Policy" do
    leaf_pem = @pki[:leaf].to_pem
    contractor_der = @contractor.to_der
    failures = Queue.new
    threads = Array.new(threads_count) do |t|
      Thread.new do
        rounds.times do |i|
          cert = HanamiGuard::Certificate.parse(leaf_pem)
          other = HanamiGuard::Certificate.parse(contractor_der)
          name = "t#{t}-#{i}.txt"
          @root.write(name, "#{t}:#{i}")
          escaped = begin
            @root.read("../secret")
          rescue HanamiGuard::PathEscapeError
            :refused
          end
          results = {
            verify: @trust.verify(cert, intermediates: [@intermediate]) == cert,
            spiffe: cert.spiffe_id.to_s,
            read: @root.read(name),
            escape: escaped,
            run: @command.run(who: "t", n: i.to_s).stdout,
            allowed: @policy.decide(cert, :deploy, "workers/#{i}").rule_id,
            denied: @policy.decide(other, :deploy, "workers/#{i}").rule_id,
            untrusted: @trust.verified?(other)
          }
          expected = { verify: true, spiffe: "spiffe://prod.example.org/ns/ops/sa/deployer", read: "#{t}:#{i}",
                       escape: :refused, run: "t-#{i}", allowed: "ops", denied: "no-contractors", untrusted: false }
          failures << [t, i, results] unless results == expected
        end
      end
    end
    threads.each(&:join)
    expect(failures.size).to eq(0), -> { "wrong results: #{Array.new(failures.size) { failures.pop }.first(3)}" }
    expect(@root.entries.size).to eq(threads_count * rounds)
  end
end
