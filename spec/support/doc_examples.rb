# frozen_string_literal: true

require "open3"
require "rbconfig"
require "tmpdir"

# The Ruby examples of README.md, docs/*.md and the YARD `@example`s in lib/, extracted so that
# spec/integration/doc_examples_spec.rb can run each one as written.
#
# Markdown: every ```ruby block. An HTML comment right before the block (blank lines may
# separate them) declares what the block needs, in the source next to it:
#
#   <!-- setup: Ruby code -->   runs first, in the same process (may span lines)
#   <!-- continues -->          the blocks above it in the same file run first (a visible "given")
#   <!-- parse-only: reason --> compiled, not run (a Hanami app file, a config.ru): keep these rare
#   <!-- file: PATH -->         a file's content (```yaml, or a ```ruby config.ru, which is also
#                               compiled): a block that continues it finds it written at PATH
#
# YARD: every `@example`; a title containing "[parse-only: reason]" compiles it only.
#
# In both, `EXPR # => VALUE` is checked when VALUE is a plain literal (see VALUE below).
#
# A run is a fresh `ruby` process in a fresh temporary directory, with `require "hanami_guard"`
# done first (every page says so) and this checkout's lib/ on the load path.
module DocExamples
  ROOT = File.expand_path("../..", __dir__)

  Example = Struct.new(:file, :line, :code, :setup, :mode, :reason, :before, :path, keyword_init: true) do
    def label
      "#{file}:#{line}"
    end

    # The whole program that runs: the blocks it continues, its set-up, then its code.
    def program
      [*before.map(&:program_body), program_body].join("\n")
    end

    def program_body
      if mode == :file
        return "require \"fileutils\"\nFileUtils.mkdir_p(File.dirname(#{path.inspect}))\n" \
               "File.write(#{path.inspect}, #{code.inspect})\n"
      end

      [setup, DocExamples.checked(code, "#{file}:", line + 1)].compact.join("\n")
    end
  end

  DIRECTIVE = /<!--\s*(setup|continues|parse-only|file)\b:?(.*?)-->/m

  # `EXPR # => VALUE` where VALUE is a literal (true, false, nil, a number, a Symbol, a String
  # without "...") followed by nothing, ":", ";" or " (": the value is checked. Anything else
  # after `# =>` ("true / false", "a Decision", "9f86...a08.png") is prose.
  VALUE = /\A(true|false|nil|-?\d+|:\w+|"(?:[^"\\]|\\.)*")(?=\s*\z|[:;]\s|\s\()/

  # The code with each checkable `# =>` turned into a check that raises, naming the line.
  def self.checked(code, where, first_line)
    code.lines.each_with_index.map do |line, index|
      expression, comment = line.chomp.split(/\s# => /, 2)
      value = comment && comment[VALUE, 1]
      next line if value.nil? || expression.strip.empty? || expression.lstrip.start_with?("#") || value.include?("...")

      message = "#{where}#{first_line + index}: expected #{value}, got "
      "(__doc = (#{expression.strip}); raise #{message.inspect} + __doc.inspect unless __doc == #{value})\n"
    end.join
  end

  # Every example, in file order.
  def self.all
    files = ["README.md", *Dir[File.join(ROOT, "docs", "*.md")].map { |f| f.delete_prefix("#{ROOT}/") }.sort]
    files.flat_map { |f| markdown(f) } +
      Dir[File.join(ROOT, "lib", "**", "*.rb")].flat_map { |f| yard(f.delete_prefix("#{ROOT}/")) }
  end

  # The ```ruby blocks of a Markdown file, and the blocks a file: directive names.
  def self.markdown(relative, text = File.read(File.join(ROOT, relative)))
    examples = []
    lines = text.lines
    i = 0
    while i < lines.size
      case lines[i]
      when /\A\s*```ruby\s*\z/ then i = ruby_block(relative, lines, i, examples)
      when /\A\s*```/ then i = other_block(relative, lines, i, examples)
      end
      i += 1
    end
    examples
  end

  # Reads the ```ruby block opening at `start`; returns the line of its closing fence.
  def self.ruby_block(relative, lines, start, examples)
    indent = lines[start][/\A\s*/]
    finish = skip_fence(lines, start)
    code = lines[(start + 1)...finish].map { |l| l.delete_prefix(indent) }.join
    found = directives(lines, start)
    path = found.find { |k, _| k == "file" }&.last
    examples << if path
                  Example.new(file: relative, line: start + 1, code:, mode: :file, path:, before: [])
                else
                  build(relative, start + 1, code, found, examples)
                end
    finish
  end

  # Another language: kept only when a file: directive names where it goes. Skipped whole, so
  # a ```ruby line inside it is not read as a block.
  def self.other_block(relative, lines, start, examples)
    finish = skip_fence(lines, start)
    path = directives(lines, start).find { |k, _| k == "file" }&.last
    if path
      examples << Example.new(file: relative, line: start + 1, code: lines[(start + 1)...finish].join, mode: :file,
                              path:, before: [])
    end
    finish
  end

  def self.skip_fence(lines, start)
    i = start + 1
    i += 1 until i >= lines.size || lines[i].match?(/\A\s*```\s*\z/)
    i
  end

  # The directives in the HTML comments that end right above line `start` (blank lines allowed).
  def self.directives(lines, start)
    i = start - 1
    i -= 1 while i >= 0 && lines[i].strip.empty?
    return [] unless i >= 0 && lines[i].rstrip.end_with?("-->")

    finish = i
    i -= 1 until i.negative? || lines[i].include?("<!--")
    return [] if i.negative?

    lines[i..finish].join.scan(DIRECTIVE).map { |kind, rest| [kind, rest.strip] }
  end

  def self.build(file, line, code, directives, earlier)
    setup = directives.select { |k, _| k == "setup" }.map(&:last)
    parse = directives.find { |k, _| k == "parse-only" }
    before = []
    if directives.any? { |k, _| k == "continues" }
      before = earlier.reject { |e| e.mode == :parse }
      raise ArgumentError, "#{file}:#{line}: <!-- continues --> needs a block above it" if before.empty?
    end
    Example.new(file:, line:, code:, setup: setup.empty? ? nil : setup.join("\n"),
                mode: parse ? :parse : :run, reason: parse&.last, before:)
  end

  # The `@example`s of a Ruby file: the comment lines after the tag, indented under it.
  def self.yard(relative, text = File.read(File.join(ROOT, relative)))
    lines = text.lines
    examples = []
    lines.each_with_index do |line, index|
      next unless (tag = line.match(/\A(\s*)#\s*@example\b(.*)$/))

      prefix = /\A#{tag[1]}#(?: {3}|\s*$)/
      body = []
      j = index + 1
      while j < lines.size && lines[j].match?(prefix)
        body << lines[j].sub(/\A#{tag[1]}#(?:   )?/, "").sub(/\A\s*\z/, "\n")
        j += 1
      end
      title = tag[2].strip
      reason = title[/\[parse-only:\s*([^\]]+)\]/, 1]
      examples << Example.new(file: relative, line: index + 1, code: "#{body.join.rstrip}\n", setup: nil,
                              mode: reason ? :parse : :run, reason:, before: [])
    end
    examples
  end

  # Compiles without running: raises SyntaxError with the example's own line numbers.
  def self.compile(example)
    RubyVM::InstructionSequence.compile(example.code, example.file, example.file, example.line + 1)
  end

  # Runs the example in a fresh `ruby` in a fresh temporary directory.
  # @return [Array(String, Process::Status)] combined output and status
  def self.run(example, env: {})
    Dir.mktmpdir("hanami_guard-example") do |dir|
      script = File.join(dir, "example.rb")
      File.write(script, "require \"hanami_guard\"\n#{example.program}")
      out, status = Open3.capture2e(env, RbConfig.ruby, "-I", File.join(ROOT, "lib"), script, chdir: dir)
      [out, status]
    end
  end
end
