# frozen_string_literal: true

require "tmpdir"

# Code handed to an interpreter, or to a launcher that hands it to a shell: `sh -s` was refused,
# but `sh`, `sh -` and `bash /dev/stdin` with stdin: ran the request's bytes as a script, and
# `flock FILE -c`, `script -q -c`, `su -c`, `env -S`, `xargs sh`, `perl -M'POSIX;system(...)'` and
# `node --import=data:...` ran code from an argument. One row per way each interpreter and launcher
# takes code (the table in crates/hanami_guard_core/src/command/exe.rs). Every program is a
# stand-in (a link to `true` in a directory given as path:), so every row runs whatever is
# installed here; the check reads the program's name.
RSpec.describe "inline scripts through interpreters and launchers" do
  literal_rows = [
    # shells
    "sh -c id", "bash -ec id", "dash -s", "zsh --command id", "sh", "sh -", "sh -e -", "bash /dev/stdin",
    "bash -o errexit /dev/fd/0", "sh -- /proc/self/fd/0",
    # python
    "python3 -c print", "python3 -", "python3",
    # perl
    "perl -e print", "perl -E say", "perl '-MPOSIX;system(q(id))' x.pl", "perl -M 'POSIX;system(q(id))' x.pl",
    "perl /dev/stdin",
    # ruby, node, php, lua
    "ruby -e 'p 1'", "ruby", "node -e 1", "node -p 1", "node --eval=1", "node --import=data:text/javascript,1 x.js",
    "node --import data:text/javascript,1 x.js", "node --experimental-loader=data:text/javascript,1 x.js",
    "php -r 'echo 1;'", "lua -e 'print(1)'",
    # launchers
    "env sh -c id", "env sh", "env -S 'sh -c id'", "env '--split-string=sh -c id'", "xargs sh", "xargs -0 python3",
    "xargs bash -c id", "flock /tmp/l -c id", "flock --command id /tmp/l", "script -q -c id /dev/null",
    "su -c id app", "runuser -u app --command=id", "watch -n1 ls", "sudo -s id", "busybox sh -c id",
    "nice bash -c id", "timeout 5 sh", "find . -exec sh -c id ';'"
  ]

  around do |example|
    Dir.mktmpdir do |dir|
      true_path = %w[/usr/bin/true /bin/true].find { |p| File.executable?(p) }
      %w[sh bash dash zsh python3 perl ruby node php lua env xargs flock script su runuser watch sudo busybox
         nice timeout find].each { |name| File.symlink(true_path, File.join(dir, name)) }
      @path = [dir]
      example.run
    end
  end

  literal_rows.each do |template|
    it "refuses #{template.inspect} at definition" do
      expect { HanamiGuard::Command.new(template, path: @path) }
        .to raise_error(HanamiGuard::ConfigurationError, /inline script|program read from stdin|stdin|shell|splits/)
      expect(HanamiGuard::Command.new(template, path: @path, dangerous_shell: true).argv).to be_a(Array)
    end
  end

  {
    ["bash {script}", { script: "/dev/stdin" }, {}] => "a script path that is stdin",
    ["sh {script}", { script: "/proc/self/fd/0" }, {}] => "a script path that is stdin",
    ["perl {mod} x.pl", { mod: "-MPOSIX;system(q(id))" }, { options: [:mod] }] => "perl -M with code",
    ["node {hook} x.js", { hook: "--import=data:text/javascript,1" }, { options: [:hook] }] => "a node data: URL",
    ["flock /tmp/l {flag} id", { flag: "-c" }, { options: [:flag] }] => "flock -c"
  }.each do |(template, values, opts), what|
    it "refuses #{what} given as a value at run time (#{template})" do
      cmd = HanamiGuard::Command.new(template, path: @path, **opts)
      expect { cmd.argv(**values) }.to raise_error(HanamiGuard::CommandNotAllowed)
    end
  end

  it "still allows the ordinary forms" do
    ["perl -MJSON::PP -Mstrict x.pl", "perl -MList::Util=sum,max x.pl", "node --import=./setup.mjs x.js",
     "sh -e script.sh", "bash {script} arg", "watch -x ls", "flock /tmp/l ls -l", "python3 -W ignore x.py"].each do |t|
      cmd = HanamiGuard::Command.new(t, path: @path)
      expect(cmd.argv(**cmd.placeholders.to_h { |p| [p, "script.sh"] })).to be_a(Array), t
    end
  end
end
