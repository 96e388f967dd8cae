# frozen_string_literal: true

# A child's own /proc/PID files are closed to it inside the default Landlock domain (so that it
# cannot open the app's either), so specs that check what a child started with (its signal mask,
# its session, NoNewPrivs) read them from the app's side while the child runs: `sleep` with a
# unique argument, found by its command line, read, then killed.
module RunningChild
  # Runs `sleep MARKER` through `command_options` on a thread, yields the child's
  # /proc/PID/status and /proc/PID/stat texts once it has exec'd, kills it, and returns the
  # Result.
  def while_sleeping(**command_options)
    marker = format("600.%06d", rand(1_000_000))
    cmd = HanamiGuard::Command.new("sleep {seconds}", timeout: 120, kill_grace: 1, **command_options)
    runner = Thread.new { cmd.run(seconds: marker) }
    pid = wait_for_sleeper(marker, runner)
    begin
      yield File.read("/proc/#{pid}/status"), File.read("/proc/#{pid}/stat")
    ensure
      Process.kill(:KILL, pid)
    end
    runner.value
  end

  private

  def wait_for_sleeper(marker, runner)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    loop do
      pid = Dir["/proc/[0-9]*/cmdline"].find do |path|
        File.binread(path).split("\0").last(1) == [marker]
      rescue SystemCallError
        false
      end
      return Integer(pid.split("/")[2]) if pid
      raise "the child never started: #{runner.value.inspect}" unless runner.alive?
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        raise "no child running `sleep #{marker}` after 30 s"
      end

      Thread.pass
    end
  end
end

RSpec.configure { |config| config.include RunningChild }
