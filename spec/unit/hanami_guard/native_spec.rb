# frozen_string_literal: true

require "timeout"

RSpec.describe "HanamiGuard::Native" do
  before do
    next if HanamiGuard::Native::TEST_HOOKS

    raise "this extension was built without the specs' test hooks (cargo feature test-hooks): " \
          "build it with `bundle exec rake compile`, which sets HANAMI_GUARD_TEST_HOOKS=1"
  end

  it "defines the test hooks exactly when the build says it has them" do
    expect(HanamiGuard::Native.respond_to?(:__test_panic)).to be(HanamiGuard::Native::TEST_HOOKS)
  end

  it "turns a Rust panic into a HanamiGuard::Error that says it is a bug, and the process survives" do
    expect { HanamiGuard::Native.__test_panic }
      .to raise_error(HanamiGuard::Error, /internal error in hanami_guard \(this is a bug.*deliberate panic/)
    # The process is alive and the extension still works after the panic.
    expect { HanamiGuard::Native.__test_panic }.to raise_error(HanamiGuard::Error)
  end

  it "catches a panic in work running without the GVL" do
    expect { HanamiGuard::Native.__test_panic_without_gvl }
      .to raise_error(HanamiGuard::Error, /bug.*deliberate panic without the GVL/)
  end

  # This thread runs Ruby code (the polling in wait_until_blocked_in) while the other is inside
  # a 30-second wait: with the GVL held, it could run only after the wait had returned, and the
  # helper would find the waiter finished and fail. No tick counts, so no machine speed.
  it "lets other Ruby threads run while work waits without the GVL", :raises_in_thread do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
    wait_until_blocked_in(waiter, "__test_wait_cancellable")
    expect(HanamiGuard::Native.__test_live_waits).to eq(1)
    waiter.raise(RuntimeError, "stop waiting")
    expect { waiter.join }.to raise_error(RuntimeError, "stop waiting")
  end

  # Ruby calls the unblocking function for Thread#wakeup too, and for a signal whose trap
  # handler returns: a wake-up that raises nothing must not end the work.
  it "resumes work that Ruby woke without an exception (Thread#wakeup)" do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(1) }
    3.times do
      wait_until_blocked_in(waiter, "__test_wait_cancellable")
      waiter.wakeup
    end
    # The value counts the wake-ups the work saw and survived; it comes back only when the
    # one-second wait ran to its end. Two or more: the work went on after a wake-up.
    expect(waiter.value).to be >= 2
  end

  it "delivers Thread#raise to work waiting without the GVL, promptly", :raises_in_thread do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
    wait_until_blocked_in(waiter, "__test_wait_cancellable")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    waiter.raise(RuntimeError, "stop waiting")
    expect { waiter.join }.to raise_error(RuntimeError, "stop waiting")
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5 * GcStress::SLOWDOWN
  end

  it "honours Thread#kill and Timeout.timeout on the waiting thread" do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
    wait_until_blocked_in(waiter, "__test_wait_cancellable")
    waiter.kill
    expect(waiter.join(5 * GcStress::SLOWDOWN)).to eq(waiter)
    expect(waiter.alive?).to be(false)

    # The timeout must reach the wait itself, not the call on its way in.
    expect { Timeout.timeout(0.2) { HanamiGuard::Native.__test_wait_cancellable(30) } }
      .to raise_error(Timeout::Error) { |e| expect(raised_inside?(e, "__test_wait_cancellable")).to be(true) }
  end

  # Ruby's interrupt must leave the extension by the front door: raised after every Rust frame
  # of the call has been dropped, never by a longjmp over them (which leaks their buffers and
  # skips their cleanup). Each wait holds a Rust guard counted in __test_live_waits.
  it "delivers interrupts only after the extension's Rust frames are dropped", :raises_in_thread do
    expect(HanamiGuard::Native.__test_live_waits).to eq(0)
    5.times do
      waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
      wait_until_blocked_in(waiter, "__test_wait_cancellable")
      waiter.raise(RuntimeError, "stop waiting")
      expect { waiter.join }.to raise_error(RuntimeError, "stop waiting")
      killed = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
      wait_until_blocked_in(killed, "__test_wait_cancellable")
      killed.kill.join
      expect { Timeout.timeout(0.05) { HanamiGuard::Native.__test_wait_cancellable(30) } }
        .to raise_error(Timeout::Error)
      # Interrupted before the wait started: Ruby skips the work, the frame still unwinds.
      expect do
        Thread.handle_interrupt(RuntimeError => :never) do
          Thread.current.raise(RuntimeError, "already pending")
          Thread.handle_interrupt(RuntimeError => :immediate) { HanamiGuard::Native.__test_wait_cancellable(30) }
        end
      end.to raise_error(RuntimeError, "already pending")
    end
    expect(HanamiGuard::Native.__test_live_waits).to eq(0)
  end
end
