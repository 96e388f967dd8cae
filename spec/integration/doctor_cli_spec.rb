# frozen_string_literal: true

require "spec_helper"
require "open3"
require "json"

# `hanami_guard doctor`, run as a real process, as CI would run it.
RSpec.describe "exe/hanami_guard doctor" do
  include_context "a posture fixture tree"

  def cli(*args)
    root = File.expand_path("../..", __dir__)
    out, err, status = Open3.capture3({ "DATABASE_URL" => nil }, RbConfig.ruby, "-I", File.join(root, "lib"),
                                      File.join(root, "exe", "hanami_guard"), "doctor", *args)
    [out, err, status.exitstatus]
  end

  it "exits 0 when nothing is at or above --fail-on, and prints the findings" do
    out, err, code = cli("--root", fixture(:docker_root), "--fail-on", "critical")
    expect([err, code]).to eq(["", 0])
    expect(out).to include("2 finding(s): 1 high, 1 medium", "root-user", "fix:")
  end

  it "exits 1 at or above the default (high)" do
    out, _err, code = cli("--root", fixture(:docker_sock))
    expect(code).to eq(1)
    expect(out).to match(/CRITICAL runtime-socket/)
  end

  it "exits 0 for a hardened container" do
    out, _err, code = cli("--root", fixture(:hardened), "--fail-on", "info")
    expect(code).to eq(0)
    expect(out).to include("no findings")
  end

  it "prints JSON" do
    out, _err, code = cli("--root", fixture(:seccomp_filters_openat2), "--json", "--fail-on", "medium")
    expect(code).to eq(1)
    expect(JSON.parse(out)["findings"].map { |f| f["id"] }).to eq(%w[no-new-privs openat2 landlock])
  end

  it "prints SARIF 2.1.0" do
    out, _err, code = cli("--root", fixture(:kubernetes_host), "--sarif")
    expect(code).to eq(1)
    sarif = JSON.parse(out)
    expect(sarif["version"]).to eq("2.1.0")
    expect(sarif["runs"][0]["results"].map { |r| r["ruleId"] })
      .to eq(%w[runtime-socket host-mount seccomp no-new-privs service-account-token])
  end

  it "exits 2 on bad usage, naming the valid severities" do
    _out, err, code = cli("--fail-on", "severe")
    expect(code).to eq(2)
    expect(err).to include("critical, high, medium, low, info")
    expect(cli("--json", "--sarif")[2]).to eq(2)
    expect(cli("extra")[2]).to eq(2)
    expect(cli("--root", File.join(@dir, "missing"))[2]).to eq(2)
  end

  it "runs on this machine" do
    out, err, code = cli("--json", "--fail-on", "info")
    expect(err).to eq("")
    data = JSON.parse(out)
    expect(data["root"]).to eq("/")
    expect(code).to eq(data["findings"].empty? ? 0 : 1)
    expect(data["probes"].keys).to eq(%w[openat2 landlock])
  end
end
