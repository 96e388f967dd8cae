# frozen_string_literal: true

require "spec_helper"
require "open3"
require "json"
require "fileutils"

# `hanami_guard audit`, run as a real process in a copy of the naive vulnerable app.
RSpec.describe "hanami_guard audit" do
  root = File.expand_path("../..", __dir__)
  vulnerable = File.join(root, "spec/fixtures/audit/vulnerable_app")

  # One finding per escape written the naive way, each with the hanami_guard call that fixes it.
  escapes = [
    ["app/actions/containers/deploy.rb", 9, "missing-authorization", "authorize!"],
    ["app/actions/containers/deploy.rb", 11, "identity-string-compare", "HanamiGuard::DistinguishedName"],
    ["app/actions/containers/deploy.rb", 12, "shell-exec", "HanamiGuard::Command"],
    ["app/actions/files/show.rb", 10, "missing-authorization", "authorize!"],
    ["app/actions/files/show.rb", 12, "prefix-containment", "HanamiGuard::Root"],
    ["app/actions/files/show.rb", 13, "file-access", "HanamiGuard::Root"],
    ["app/actions/plugins/run.rb", 8, "missing-authorization", "authorize!"],
    ["app/actions/plugins/run.rb", 9, "dynamic-code", "HanamiGuard::Policy"],
    ["app/actions/plugins/run.rb", 10, "option-injection", "HanamiGuard::Command"],
    ["app/actions/session/restore.rb", 8, "missing-authorization", "authorize!"],
    ["app/actions/session/restore.rb", 9, "unsafe-deserialize", "JSON.parse"],
    ["config/puma.rb", 4, "tls-verify-none", "HanamiGuard::TrustStore"]
  ]

  around do |example|
    Dir.mktmpdir("hanami_guard-audit") do |dir|
      @app = File.join(dir, "app_root")
      FileUtils.cp_r(vulnerable, @app)
      example.run
    end
  end

  def audit(*args, chdir: @app)
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(File.expand_path("../..", __dir__), "lib"),
                                      File.join(File.expand_path("../..", __dir__), "exe", "hanami_guard"),
                                      "audit", *args, chdir:)
    [out, err, status.exitstatus]
  end

  it "finds every escape of the naive app, one finding each, with its fix, in JSON (exit 1)" do
    out, err, code = audit("--format", "json")
    expect([code, err]).to eq([1, ""])
    findings = JSON.parse(out)["findings"]
    expect(findings.map { |f| [f["path"], f["line"], f["rule"]] }).to eq(escapes.map { |e| e[0, 3] })
    findings.zip(escapes).each { |f, e| expect(f["fix"]).to include(e[3]) }
  end

  it "prints text for people: file:line:column, rule, the line, the fix" do
    out, _, code = audit
    expect(code).to eq(1)
    expect(out).to include("app/actions/containers/deploy.rb:12:27 shell-exec (critical)")
    expect(out).to include("response.body = `docker run --rm \#{request.params[:image]}`")
    expect(out).to include("12 findings in 5 files")
  end

  it "writes SARIF 2.1.0 whose fingerprints do not change when lines move" do
    first = JSON.parse(audit("--format", "sarif").first)
    file = File.join(@app, "app/actions/files/show.rb")
    File.write(file, "# a comment that moves every line down\n\n#{File.read(file)}")
    second = JSON.parse(audit("--format", "sarif").first)
    prints = ->(doc) { doc["runs"][0]["results"].map { |r| r["partialFingerprints"]["hanamiGuard/v1"] } }
    expect(second["version"]).to eq("2.1.0")
    expect(prints.call(second)).to eq(prints.call(first))
    lines = lambda do |doc|
      doc["runs"][0]["results"].map { |r| r["locations"][0]["physicalLocation"]["region"]["startLine"] }
    end
    expect(lines.call(second)).not_to eq(lines.call(first))
  end

  it "accepts known findings through a baseline and still reports new ones" do
    expect(audit("--write-baseline", "baseline.json")[2]).to eq(0)
    expect(audit("--baseline", "baseline.json")).to match([/0 findings in 5 files.*12 in the baseline/, "", 0])
    File.write(File.join(@app, "app/new.rb"), "def handle(request, response)\n  eval(request.params[:x])\nend\n")
    out, _, code = audit("--baseline", "baseline.json", "--json")
    expect(code).to eq(1)
    expect(JSON.parse(out)["findings"].map { |f| f["path"] }.uniq).to eq(["app/new.rb"])
  end

  it "honours an inline ignore with a reason, for its rule on its line" do
    file = File.join(@app, "config/puma.rb")
    File.write(file, File.read(file).sub(/"none"$/, '"none" # hanami_guard:ignore tls-verify-none dev only'))
    out, = audit("--json")
    expect(JSON.parse(out)["findings"].map { |f| f["rule"] }).not_to include("tls-verify-none")
  end

  it "exits 0 when no finding reaches --fail-on, 1 when one does" do
    FileUtils.rm_rf(File.join(@app, "app"))
    expect(audit("--fail-on", "critical")[2]).to eq(0)
    expect(audit("--fail-on", "high")[2]).to eq(1)
  end

  it "scans examples/ clean (exit 0)" do
    out, err, code = audit("examples", chdir: root)
    expect([code, err]).to eq([0, ""])
    expect(out).to match(/^0 findings in \d+ files/)
  end

  [%w[--format xml], %w[--fail-on severe], %w[missing_dir], %w[--baseline missing.json], %w[--nope]].each do |args|
    it "exits 2 with the usage for #{args.inspect}" do
      out, err, code = audit(*args)
      expect([code, out]).to eq([2, ""])
      expect(err).to include("hanami_guard:")
    end
  end

  it "is shown by bin/demo: the naive app's escapes, each with its fix, next to the clean example app" do
    $LOAD_PATH.unshift(File.join(root, "examples/lib"))
    require "demo_audit"
    out = StringIO.new
    expect(DemoAudit.show(out)).to be(true)
    expect(out.string).to include("a naive app (5 files): 12 escapes",
                                  "shell-exec               -> HanamiGuard::Command")
    expect(out.string).to match(/the example app \(\d+ files, \d+ lines\): 0 findings/)
  end

  it "exits 2 when there is nothing to scan by default" do
    Dir.mktmpdir do |empty|
      _, err, code = audit(chdir: empty)
      expect(code).to eq(2)
      expect(err).to include("give PATH")
    end
  end
end
