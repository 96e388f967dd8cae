# frozen_string_literal: true

require_relative "gc_stress"

# Waiting for another thread to reach a point by what that thread shows, never by a fixed sleep:
# a spec that interrupts a wait after `sleep 0.05` may interrupt before the wait began, and then
# passes without testing the wait at all.
module BlockedThreads
  # How long a thread may take to reach the awaited point before the example fails: a safety
  # net for a broken build, scaled like every other bound in the suite.
  PATIENCE = 10 * GcStress::SLOWDOWN

  module_function

  # Whether `thread` is inside the extension method `name` with the GVL released: Ruby marks a
  # thread "sleep" when it enters a blocking region (rb_nogvl), and the innermost frame is then
  # the C method that released it. A thread still on its way in (or queued on a Mutex, such as
  # GcStress's) shows another status or another frame.
  def blocked_in?(thread, name)
    thread.status == "sleep" && thread.backtrace_locations&.first&.label.to_s.end_with?(name.to_s)
  end

  # Returns once `thread` is blocked inside the extension method `name`; raises if it ends, or
  # has not got there within PATIENCE seconds.
  def wait_until_blocked_in(thread, name)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + PATIENCE
    until blocked_in?(thread, name)
      raise "the thread ended before it blocked in #{name}: #{thread.inspect}" unless thread.alive?
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        raise "the thread did not block in #{name} within #{PATIENCE} s (at #{thread.backtrace&.first})"
      end

      Thread.pass
      sleep 0.001
    end
  end

  # Polls the block until it holds; raises after PATIENCE seconds.
  def wait_for(what)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + PATIENCE
    until yield
      raise "#{what}: not within #{PATIENCE} s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.001
    end
  end

  # Whether `error` (or the exception it wraps: Ruby 3.3's Timeout raises a new Timeout::Error
  # from the one it delivered) was raised while the extension method `name` ran.
  def raised_inside?(error, name)
    [error, error.cause].compact.any? { |e| e.backtrace&.first.to_s.include?("#{name}'") }
  end
end

RSpec.configure { |config| config.include BlockedThreads }
