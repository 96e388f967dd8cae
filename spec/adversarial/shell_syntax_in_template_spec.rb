# frozen_string_literal: true

# A template that looks like a shell command line: no shell runs it, so an operator, a
# redirection, an expansion or a glob reaches the program as a literal word.
# "docker run --rm {image} > /var/log/deploy.log" would run docker with ">" and the log path as
# two more arguments (an image command line, a file docker may create), and the author believes
# the output went to the log. Such templates are refused when the command is defined, with a
# message saying how to write it; quoted or escaped, the same characters are literal.
RSpec.describe "shell syntax in a HanamiGuard::Command template" do
  refused = {
    "docker run --rm {image} > /var/log/deploy.log" => ">",
    "ls {dir} 2>&1" => ">",
    "cat < {file}" => "<",
    "git fetch ; git reset --hard" => ";",
    "make && make install" => "&",
    "ls {dir} | grep x" => "|",
    "sleep 10 &" => "&",
    "echo $HOME" => "$",
    "echo ${SECRET_KEY_BASE}" => "$",
    "echo $(id)" => "$",
    "echo `id`" => "`",
    'echo "$HOME"' => "$",
    'echo "`id`"' => "`",
    "rm *.tmp" => "*",
    "ls file?.txt" => "?",
    "ls [ab].txt" => "[",
    "ls ~" => "~",
    "ls ~/uploads" => "~",
    "cp --target-directory=~/x {f}" => "~",
    "echo (x)" => "(",
    "echo a\nid" => "\\n"
  }

  refused.each do |template, char|
    it "refuses #{template.inspect} at definition and says how to write it" do
      expect { HanamiGuard::Command.new(template) }
        .to raise_error(HanamiGuard::ConfigurationError) { |e|
          expect(e.message).to include("`#{char}`")
          expect(e.message).to include("result.stdout", "quote")
        }
    end
  end

  it "keeps the same characters literal when quoted or escaped" do
    cmd = HanamiGuard::Command.new(%q(printf '%s|' '>' \| ';' '$HOME' "a b" '*' \~ HEAD~1 '2>&1' "\$x" {v}))
    expect(cmd.run(v: "$(id) > x").stdout).to eq(">|||;|$HOME|a b|*|~|HEAD~1|2>&1|$x|$(id) > x|")
  end

  it "keeps # literal inside a word and refuses one that starts a word (a comment to sh)" do
    expect(HanamiGuard::Command.new("printf %s foo#bar").run.stdout).to eq("foo#bar")
    expect { HanamiGuard::Command.new("printf %s #bar baz") }
      .to raise_error(HanamiGuard::ConfigurationError, /comment/)
  end

  it "leaves values alone: a value is one argv word and is never read as shell syntax" do
    expect(HanamiGuard::Command.new("printf %s {v}").run(v: "a; b > c | $HOME *").stdout)
      .to eq("a; b > c | $HOME *")
  end
end
