# frozen_string_literal: true

# A child that inherits a blocked signal mask (the spawner thread blocks every signal) ignores a
# timeout's SIGTERM until SIGKILL after kill_grace, and a shell that waits for its own children
# never sees SIGCHLD. Every child, on both spawn paths, starts with an empty mask and every signal
# at its default disposition.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "the signal state a HanamiGuard::Command child inherits", :slow do
  def status_field(status, name)
    status[/^#{name}:\s*(\h+)$/, 1].to_i(16)
  end

  {
    "posix_spawn" => {},
    "fork (rlimits:)" => { rlimits: { nofile: 256 } }
  }.each do |path, opts|
    context "on the #{path} path" do
      it "starts with no signal blocked and none ignored" do
        status = nil
        result = while_sleeping(**opts) { |text, _stat| status = text }
        expect(result.sandbox[:spawn]).to eq(opts.empty? ? :posix_spawn : :fork)
        expect(status_field(status, "SigBlk")).to eq(0)
        expect(status_field(status, "SigIgn")).to eq(0)
      end

      it "lets a timeout's SIGTERM end the child before kill_grace runs out" do
        result = HanamiGuard::Command.new("sleep 30", timeout: 0.2, kill_grace: 20, **opts).run
        expect(result).to be_timed_out
        expect(result.signal).to eq(Signal.list.fetch("TERM"))
      end

      it "lets a shell wait for its own background job" do
        cmd = HanamiGuard::Command.new("sh -c 'sleep 0.2 & wait; echo done'", dangerous_shell: true,
                                                                              timeout: 20, kill_grace: 1, **opts)
        result = cmd.run
        expect(result).not_to be_timed_out
        expect(result.stdout).to eq("done\n")
      end
    end
  end
end
