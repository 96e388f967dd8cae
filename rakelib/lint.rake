# frozen_string_literal: true

# bin/test (and so CI) runs `rake lint`, so a check added here runs everywhere. The fast checks
# come first; clippy compiles the workspace. Clippy's lints (unwrap_used,
# undocumented_unsafe_blocks) are set in Cargo.toml's [workspace.lints], for every invocation.
desc "cargo fmt --check, rubocop, the public API documented (yard), cargo clippy (-D warnings)"
task lint: %w[lint:fmt lint:rubocop lint:yard lint:clippy]

namespace :lint do
  task :fmt do
    sh "cargo", "fmt", "--all", "--check"
  end

  task :rubocop do
    sh "rubocop"
  end

  # The public API is every public object not tagged `@api private`. `yard stats --list-undoc`
  # prints the report, but it always exits 0 and counts as documented an object whose only tags
  # are the ones YARD copies down from the enclosing class (`@api`, `@since`), so the gate is
  # checked here: each object has a description or a tag of its own (`@return`, `@param`, ...),
  # and YARD warned about nothing (a warning means it misread a file, so the count is not the
  # whole API).
  desc "yard: every object of the public API documented, and no YARD warning"
  task :yard do
    begin
      require "yard"
    rescue LoadError
      abort "rake lint:yard: yard is not installed: run bin/setup (Debian's package yard)"
    end
    files = ["lib/**/*.rb"]
    sh "yard", "stats", "--list-undoc", "--no-save", "--hide-api", "private", *files
    YARD::Registry.clear
    YARD.parse(files)
    inherited = %w[api since]
    undocumented = YARD::Registry.all.select do |object|
      next false unless object.visibility == :public && object.tag(:api)&.text != "private"
      next false if object.respond_to?(:is_alias?) && object.is_alias?

      object.docstring.strip.empty? && object.tags.all? { |tag| inherited.include?(tag.tag_name) }
    end
    problems = undocumented.map { |o| "#{o.file}:#{o.line}: #{o.path} has no documentation of its own" }
    problems << "YARD warned (above): make the file parse cleanly" if log.warned
    abort "rake lint:yard:\n#{problems.join("\n")}" unless problems.empty?
  end

  task :clippy do
    sh "cargo", "clippy", "--workspace", "--all-targets", "--", "-D", "warnings"
  end
end
