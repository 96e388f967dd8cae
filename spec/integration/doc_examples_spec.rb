# frozen_string_literal: true

require "spec_helper"

# Every Ruby example of README.md, docs/*.md and the YARD `@example`s in lib/ runs as written
# (spec/support/doc_examples.rb says how set-up is declared next to a block). A user pastes
# these: an undefined variable, a file written before its directory exists or a chain that does
# not verify fails here first.
RSpec.describe "the documentation's Ruby examples" do
  # Everything here runs in fresh `ruby` processes, which GC_STRESS does not reach: the plain
  # pass runs it, and the stressed pass would only run it again unstressed.
  before(:context) { skip "runs in subprocesses, which GC_STRESS does not reach" if GcStress.mode }

  examples = DocExamples.all

  it "finds the examples of the README, of every docs/ page and of YARD" do
    sources = examples.map(&:file)
    expect(sources).to include("README.md")
    Dir[File.join(DocExamples::ROOT, "docs", "*.md")].each do |page|
      next unless File.read(page).include?("```ruby")

      expect(sources).to include(page.delete_prefix("#{DocExamples::ROOT}/"))
    end
    expect(sources.grep(%r{\Alib/}).size).to be >= 10
  end

  it "marks few examples parse-only, each with its reason" do
    parsed = examples.select { |e| e.mode == :parse }
    expect(parsed.map(&:reason)).to all(match(/\S/))
    expect(parsed.size).to be <= examples.size / 4, "parse-only: #{parsed.map(&:label).join(", ")}"
  end

  it "fails an example that does not run, and a block with a syntax error" do
    broken = DocExamples.markdown("broken.md", <<~MD)
      <!-- setup: answer = 41 -->
      ```ruby
      raise "wrong" unless answer == 42
      ```

      <!-- parse-only: a Hanami app file -->
      ```ruby
      def handle(request
      ```
    MD
    out, status = DocExamples.run(broken.first)
    expect(status).not_to be_success
    expect(out).to include("wrong")
    expect { DocExamples.compile(broken.last) }.to raise_error(SyntaxError)
  end

  it "checks the values written after # =>, and leaves prose alone" do
    checked = DocExamples.markdown("values.md", <<~MD)
      ```ruby
      [1 + 1].first                 # => 2
      "operator"                    # => "operator" (the first value)
      :expired                      # => :expired
      1 + 1                         # => true / false
      File.expand_path("public")    # => "/.../public" (canonical)
      ```

      ```ruby
      1 + 1 # => 3
      ```
    MD
    expect(DocExamples.run(checked.first).last).to be_success
    out, status = DocExamples.run(checked.last)
    expect(status).not_to be_success
    expect(out).to include("values.md:10: expected 3, got 2")
  end

  it "runs a block after the blocks it continues, each in its own directory" do
    chain = DocExamples.markdown("chain.md", <<~MD)
      ```ruby
      File.write("given.txt", "a test CA")
      GIVEN = File.read("given.txt")
      ```

      <!-- continues -->
      ```ruby
      raise "no given" unless GIVEN == "a test CA"
      ```
    MD
    out, status = DocExamples.run(chain.last)
    expect(status).to be_success, out
  end

  examples.each do |example|
    if example.mode == :file
      # Written for the blocks that continue it; a Ruby file is compiled here too.
      if example.path.end_with?(".rb", ".ru")
        it("#{example.label} (#{example.path}) parses") { expect { DocExamples.compile(example) }.not_to raise_error }
      end
      next
    end

    if example.mode == :parse
      it "#{example.label} parses (#{example.reason})" do
        expect { DocExamples.compile(example) }.not_to raise_error
      end
    else
      it "#{example.label} runs" do
        DocExamples.compile(example)
        out, status = DocExamples.run(example)
        expect(status).to be_success, "#{example.label} failed:\n#{out}\n--- the program:\n#{example.program}"
      end
    end
  end
end
