# frozen_string_literal: true

require "pty"
require "rbconfig"

# Terminal injection (the bubblewrap CVE-2017-5226 class): a child that stays in the app's session
# keeps its controlling terminal, so under a dev server, `docker run -it` or a console it can open
# /dev/tty and push keystrokes into the app's shell with TIOCSTI. Every child starts in a new
# session, without a controlling terminal, while still leading the process group that a timeout
# kills.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "a HanamiGuard::Command child and the app's terminal", :slow do
  paths = { "posix_spawn" => {}, "fork (rlimits:)" => { rlimits: { nofile: 256 } } }

  paths.each do |path, opts|
    context "on the #{path} path" do
      it "leads a new session and its own process group" do
        fields = nil
        result = while_sleeping(**opts) { |_status, stat| fields = stat.split(") ", 2).last.split }
        # fields: state ppid pgrp session ...
        expect(Integer(fields[2])).to eq(result.pid)
        expect(Integer(fields[3])).to eq(result.pid)
        expect(Integer(fields[3])).not_to eq(Process.getsid)
      end

      it "cannot open the app's controlling terminal" do
        lib = File.expand_path("../../lib", __dir__)
        script = <<~RUBY
          require "hanami_guard"
          File.open("/dev/tty") { } # this process has the pty as its controlling terminal
          r = HanamiGuard::Command.new("head -c 0 /dev/tty", timeout: 10, **#{opts.inspect}).run
          print r.success? ? "CHILD-OPENED-TTY" : "CHILD-REFUSED:\#{r.stderr.strip}"
        RUBY
        output = +""
        PTY.spawn(RbConfig.ruby, "-I", lib, "-e", script) do |reader, _writer, pid|
          loop { output << reader.readpartial(4096) }
        rescue EOFError, Errno::EIO
          Process.wait(pid)
        end
        expect(output).to include("CHILD-REFUSED")
        expect(output).to match(/No such device or address/)
      end
    end
  end
end
