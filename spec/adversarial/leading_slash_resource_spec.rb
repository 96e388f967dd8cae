# frozen_string_literal: true

require "spec_helper"
require "fileutils"

# `allow **` and `deny secrets/**`: the resource `/secrets/key` has a leading empty segment, so the
# deny glob does not see `secrets`, and the app's `File.join(base, resource)` then reads
# base/secrets/key all the same. A resource with an empty segment (`/x`, `a//b`, `x/`) matches no
# glob at all, deny or allow; only a rule naming it exactly can match it.
RSpec.describe "leading slash resource slipping past a deny glob" do
  before(:all) do
    @base = File.realpath(Dir.mktmpdir("hanami_guard-slash"))
    FileUtils.mkdir_p(File.join(@base, "secrets"))
    FileUtils.mkdir_p(File.join(@base, "public"))
    File.write(File.join(@base, "secrets/key"), "SECRET")
    File.write(File.join(@base, "public/a"), "PUBLIC")
  end

  after(:all) { FileUtils.remove_entry(@base) }

  let(:policy) do
    HanamiGuard::Policy.define do
      allow :read, resources: ["**"], principals: ["*"], id: "read-all"
      deny :read, resources: ["secrets/**"], principals: ["*"], id: "no-secrets"
    end
  end
  let(:identity) { HanamiGuard::Policy::Identity.new(subject: { CN: "operator" }) }

  # The app's handler: authorize, then read beneath the base as many apps do.
  def read(resource)
    policy.authorize!(identity, :read, resource)
    File.read(File.join(@base, resource))
  end

  it "reads a public file and refuses secrets/key (the baseline)" do
    expect(read("public/a")).to eq("PUBLIC")
    expect { read("secrets/key") }.to raise_error(HanamiGuard::Forbidden)
  end

  it "refuses /secrets/key and its other empty-segment spellings, though File.join would read the secret" do
    %w[/secrets/key //secrets/key /secrets//key secrets//key secrets/key/ /public/a].each do |resource|
      expect(File.join(@base, resource)).to start_with(@base) # the join itself stays beneath the base
      decision = policy.decide(identity, :read, resource)
      expect(decision).not_to be_allowed, resource
      expect(decision.rule_id).to be_nil
      expect { read(resource) }.to raise_error(HanamiGuard::Forbidden)
    end
  end

  it "warns in lint of the allow-all glob beside the deny glob" do
    expect(policy.lint).to include(a_string_including("read-all", "no-secrets", "case-sensitively"))
  end
end
