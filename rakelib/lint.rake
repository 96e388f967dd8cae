# frozen_string_literal: true

desc "cargo clippy (-D warnings), cargo fmt --check and rubocop"
task :lint do
  sh "cargo", "clippy", "--workspace", "--all-targets", "--", "-D", "warnings"
  sh "cargo", "fmt", "--all", "--check"
  sh "rubocop"
end
