# frozen_string_literal: true

require "spec_helper"
require "json"

RSpec.describe HanamiGuard::Audit do
  fixtures = File.expand_path("../../fixtures/audit/rules", __dir__)

  # Lines marked `# expect: RULE` in a fixture, as [line, rule] pairs.
  def expected(file)
    File.readlines(file).each_with_index.flat_map do |text, i|
      text.scan(/# expect: ([a-z-]+)/).map { |(rule)| [i + 1, rule] }
    end.sort
  end

  described_class.rules.each do |rule|
    file = File.join(fixtures, "#{rule[:id].tr("-", "_")}.rb")

    it "finds #{rule[:id]} on exactly the marked lines of its fixture, not on the look-alikes" do
      result = described_class.scan(file)
      expect(result.findings.map { |f| [f.line, f.rule] }.sort).to eq(expected(file))
      expect(expected(file).map(&:last)).to include(rule[:id])
      result.findings.each do |f|
        expect(f.fix).to include("HanamiGuard::")
        expect(f.snippet).not_to be_empty
        expect(f).to be_frozen
      end
    end
  end

  it "scans the example app clean" do
    result = described_class.scan(File.expand_path("../../../examples", __dir__))
    expect(result.findings).to eq([])
    expect(result.files).to be > 5
  end

  describe "reports" do
    subject(:result) { described_class.scan(File.join(fixtures, "shell_exec.rb")) }

    it "gives the JSON shape of DESIGN.md" do
      data = JSON.parse(result.to_json)
      expect(data.keys).to include("findings", "files", "lines", "seconds")
      expect(data["findings"].first.keys).to include("rule", "severity", "path", "line", "column", "message", "fix")
      expect(data["files"]).to eq(1)
    end

    it "writes as JSON exactly what #to_h holds (the core writes the one, Ruby builds the other)" do
      scan = described_class.scan(fixtures)
      expect(scan.findings.size).to be > 5
      expect(JSON.parse(scan.to_json)).to eq(scan.to_h.merge("seconds" => scan.seconds.round(4)))
      expect(JSON.parse(scan.to_json).keys).to eq(%w[findings files lines seconds skipped ignored baselined])
    end

    it "gives SARIF 2.1.0 with a rule table and stable fingerprints" do
      sarif = JSON.parse(result.to_sarif)
      expect(sarif["version"]).to eq("2.1.0")
      run = sarif["runs"].first
      ids = run["tool"]["driver"]["rules"].map { |r| r["id"] }
      expect(ids).to eq(described_class.rules.map { |r| r[:id] })
      first = run["results"].first
      expect(ids[first["ruleIndex"]]).to eq(first["ruleId"])
      expect(first["partialFingerprints"]["hanamiGuard/v1"]).to eq(result.findings.first.fingerprint)
      expect(first["locations"].first["physicalLocation"]["region"]["startLine"]).to eq(result.findings.first.line)
    end

    it "gives every SARIF field code-scanning tools read, for each rule and each finding" do
      scan = described_class.scan(fixtures)
      run = JSON.parse(scan.to_sarif).fetch("runs").first
      levels = { "critical" => "error", "high" => "error", "medium" => "warning", "low" => "note" }
      scores = { "critical" => "9.5", "high" => "8.0", "medium" => "5.5", "low" => "3.0" }
      expect(run["tool"]["driver"]).to include("name" => "hanami_guard", "version" => HanamiGuard::VERSION)
      expect(run["tool"]["driver"]["rules"]).to eq(described_class.rules.map do |r|
        { "id" => r[:id], "name" => r[:id], "shortDescription" => { "text" => r[:summary] },
          "help" => { "text" => r[:fix] }, "defaultConfiguration" => { "level" => levels.fetch(r[:severity]) },
          "properties" => { "security-severity" => scores.fetch(r[:severity]), "tags" => ["security"] } }
      end)
      expect(run["results"]).to eq(scan.findings.map do |f|
        { "ruleId" => f.rule, "ruleIndex" => described_class.rules.index { |r| r[:id] == f.rule },
          "level" => levels.fetch(f.severity), "message" => { "text" => "#{f.message}. Fix: #{f.fix}" },
          "locations" => [{ "physicalLocation" => {
            "artifactLocation" => { "uri" => f.path.delete_prefix("./") },
            "region" => { "startLine" => f.line, "startColumn" => f.column, "snippet" => { "text" => f.snippet } }
          } }],
          "partialFingerprints" => { "hanamiGuard/v1" => f.fingerprint } }
      end)
      expect(run["results"].size).to be > 5
    end

    it "prints text with file:line:column, rule, the line and the fix" do
      text = result.to_text
      expect(text).to include("shell_exec.rb:13:7 shell-exec (critical)")
      expect(text).to include('system("docker run --rm #{image}")') # rubocop:disable Lint/InterpolationCheck
      expect(text).to include("fix: Run it with HanamiGuard::Command.new")
    end

    it "fails on a severity only when a finding reaches it" do
      expect(result.fails?("critical")).to be(true)
      clean = described_class.scan(File.join(fixtures, "tls_verify_none.rb"))
      expect(clean.fails?(:critical)).to be(false)
      expect(clean.fails?("high")).to be(true)
      expect(%w[low medium].map { |s| clean.fails?(s) }).to eq([true, true])
      expect(clean.fails?).to be(true)
    end

    it "refuses a severity it does not know, as a wrong fail_on:, before and after a scan" do
      ["severe", "High", "", :info, 3, nil].each do |bad|
        [-> { result.fails?(bad) }, -> { described_class.severity_name(bad) }].each do |call|
          expect(&call).to raise_error(HanamiGuard::ConfigurationError, /low, medium, high, critical/) { |e|
            expect(e.details).to eq(option: :fail_on)
          }
        end
      end
      expect(described_class.severity_name(:critical)).to eq("critical")
    end
  end

  describe "baselines" do
    it "silences the findings a saved report lists, by fingerprint" do
      Dir.mktmpdir do |dir|
        file = File.join(fixtures, "dynamic_code.rb")
        saved = File.join(dir, "baseline.json")
        File.write(saved, described_class.scan(file).to_json)
        again = described_class.scan(file, baseline: saved)
        expect(again.findings).to eq([])
        expect(again.baselined).to eq(expected(file).size)
        partial = described_class.scan(file, baseline: [described_class.scan(file).findings.first.fingerprint])
        expect(partial.findings.size).to eq(expected(file).size - 1)
      end
    end

    ["[1, 2]", "{}", '{"findings": 1}', '{"findings": [1]}', '{"findings": [{"rule": "x"}]}',
     '{"findings": [{"fingerprint": 7}]}', "not json", "\xFF\xFE{}", ""].each do |text|
      it "refuses a baseline that is not a report (#{text.inspect}), saying how to write one" do
        Dir.mktmpdir do |dir|
          bad = File.join(dir, "b.json")
          File.binwrite(bad, text)
          expect { described_class.scan(fixtures, baseline: bad) }
            .to raise_error(HanamiGuard::ConfigurationError, %r{baseline .*/b.json .*--write-baseline})
        end
      end
    end

    it "raises Errno::ENOENT for a baseline that is not there, as File.read would" do
      expect { described_class.scan(fixtures, baseline: "/nonexistent/baseline.json") }.to raise_error(Errno::ENOENT)
    end
  end

  it "refuses a negative thread count and a file limit that is not positive, naming the option" do
    { { threads: -1 } => :threads, { max_file_bytes: 0 } => :max_file_bytes,
      { max_file_bytes: -5 } => :max_file_bytes }.each do |options, option|
      expect { described_class.scan(fixtures, **options) }
        .to raise_error(HanamiGuard::ConfigurationError, /\A#{option}: .*give/) { |e| expect(e.details).to eq(option:) }
    end
    expect(described_class.scan(fixtures, threads: "1", max_file_bytes: 1 << 20).files).to be > 5
  end

  it "skips files over max_file_bytes and lists them" do
    result = described_class.scan(fixtures, max_file_bytes: 1000)
    expect(result.skipped.map(&:reason)).to all(include("larger than 1000 bytes"))
    expect(result.files + result.skipped.size).to eq(Dir[File.join(fixtures, "*.rb")].size)
  end

  it "raises Errno::ENOENT for a path that does not exist" do
    expect { described_class.scan("/nonexistent/hanami_guard/app") }.to raise_error(Errno::ENOENT)
  end

  it "scans the default directories of a Hanami app when given no path" do
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.join(dir, "slices/admin/actions"))
      File.write(File.join(dir, "slices/admin/actions/x.rb"), "def handle(req, res)\n  eval(req.params[:c])\nend\n")
      File.write(File.join(dir, "outside.rb"), "eval(params[:c])\n")
      result = Dir.chdir(dir) { described_class.scan }
      expect(result.findings.map(&:path).uniq).to eq(["slices/admin/actions/x.rb"])
    end
  end
end
