# frozen_string_literal: true

require "spec_helper"
require "fileutils"

# A policy file caught mid-write is often valid YAML without its trailing rules: reload! used to
# take it, and the deny rule at the end disappeared. A writer here writes the file in place in
# two chunks and waits between them until the test has called reload!; the pause is the test's
# own (a queue), not a sleep. Only a settled in-place edit, or a new file renamed over the path
# (a ConfigMap's symlink swap), is taken.
RSpec.describe "half-written policy file taken by reload!" do
  let(:full) do
    <<~YAML
      version: 1
      rules:
        - { id: read-all, effect: allow, actions: [read], resources: ["**"], principals: ["*"] }
        - { id: no-secrets, effect: deny, actions: [read], resources: ["secrets/**"], principals: ["*"] }
    YAML
  end
  let(:identity) { HanamiGuard::Policy::Identity.new(subject: { CN: "operator" }) }

  around do |example|
    Dir.mktmpdir("hanami_guard-reload") do |dir|
      @dir = dir
      example.run
    end
  end

  def path = File.join(@dir, "hanami_guard.yml")

  # The file as a settled, earlier deploy left it.
  def deploy_settled(text)
    File.write(path, text)
    File.utime(Time.now - 60, Time.now - 60, path)
  end

  it "keeps the deny rule while a writer pauses between two chunks written in place" do
    deploy_settled(full)
    policy = HanamiGuard::Policy.load(path)
    cut = full.index("  - { id: no-secrets")
    expect(HanamiGuard::Policy.parse(full[0, cut]).rule_ids).to eq(["read-all"]) # chunk 1 is valid alone

    paused = Queue.new
    resume = Queue.new
    writer = Thread.new do
      File.open(path, "w") do |file| # truncates in place: same inode
        file.write(full[0, cut])
        file.flush
        paused << true
        resume.pop
        file.write(full[cut..])
      end
    end
    paused.pop
    expect { policy.reload! }.to raise_error(HanamiGuard::PolicyError, /changed in place.*renaming it over/m)
    expect(policy.allowed?(identity, :read, "secrets/key")).to be(false)
    expect(policy.allowed?(identity, :read, "public/a")).to be(true)
    resume << true
    writer.join
    expect(policy.reload!).to be(false) # the whole file again: what is in force
    expect(policy.allowed?(identity, :read, "secrets/key")).to be(false)
  end

  it "takes a new file renamed over the path, and a ConfigMap's symlink swap, at once" do
    FileUtils.mkdir_p(File.join(@dir, "..v1"))
    FileUtils.mkdir_p(File.join(@dir, "..v2"))
    File.write(File.join(@dir, "..v1/hanami_guard.yml"), full)
    File.write(File.join(@dir, "..v2/hanami_guard.yml"), full.sub('"secrets/**"', '"keys/**"'))
    File.symlink("..v1", File.join(@dir, "..data"))
    File.symlink("..data/hanami_guard.yml", path)
    policy = HanamiGuard::Policy.load(path)
    expect(policy.allowed?(identity, :read, "keys/k")).to be(true)

    File.symlink("..v2", File.join(@dir, "..data_tmp"))
    File.rename(File.join(@dir, "..data_tmp"), File.join(@dir, "..data"))
    expect(policy.reload!).to be(true)
    expect(policy.allowed?(identity, :read, "keys/k")).to be(false)

    File.delete(path)
    File.write("#{path}.tmp", full)
    File.rename("#{path}.tmp", path)
    expect(policy.reload!).to be(true)
    expect(policy.allowed?(identity, :read, "keys/k")).to be(true)
  end

  it "takes an edit in place once it has settled" do
    deploy_settled(full)
    policy = HanamiGuard::Policy.load(path)
    File.write(path, full.sub('"secrets/**"', '"keys/**"'))
    expect { policy.reload! }.to raise_error(HanamiGuard::PolicyError, /changed in place/)
    File.utime(Time.now - 60, Time.now - 60, path)
    expect(policy.reload!).to be(true)
    expect(policy.allowed?(identity, :read, "keys/k")).to be(false)
  end
end
