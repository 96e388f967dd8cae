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

  it "lets other Ruby threads run while work waits without the GVL" do
    ticks = 0
    ticker = Thread.new { 50.times { ticks += 1; sleep 0.002 } } # rubocop:disable Style/Semicolon
    expect(HanamiGuard::Native.__test_wait_cancellable(0.3)).to eq(0)
    ticks_when_the_wait_returned = ticks
    ticker.join
    # 50 ticks of 2 ms fit in the 0.3 s wait only if the wait released the GVL.
    expect(ticks_when_the_wait_returned).to be > 25
  end

  # Ruby calls the unblocking function for Thread#wakeup too, and for a signal whose trap
  # handler returns: a wake-up that raises nothing must not end the work.
  it "resumes work that Ruby woke without an exception (Thread#wakeup)" do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(0.5) }
    sleep 0.01 until waiter.stop?
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    3.times do
      waiter.wakeup
      sleep 0.05
    end
    expect(waiter.value).to be >= 1
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be > 0.3
  end

  it "delivers Thread#raise to work waiting without the GVL, promptly", :raises_in_thread do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
    sleep 0.1 until waiter.status == "sleep" || waiter.stop?
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    waiter.raise(RuntimeError, "stop waiting")
    expect { waiter.join }.to raise_error(RuntimeError, "stop waiting")
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5 * GcStress::SLOWDOWN
  end

  it "honours Thread#kill and Timeout.timeout on the waiting thread" do
    waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
    sleep 0.05
    waiter.kill
    expect(waiter.join(5)).to eq(waiter)
    expect(waiter.alive?).to be(false)

    require "timeout"
    expect { Timeout.timeout(0.2) { HanamiGuard::Native.__test_wait_cancellable(30) } }.to raise_error(Timeout::Error)
  end

  # Ruby's interrupt must leave the extension by the front door: raised after every Rust frame
  # of the call has been dropped, never by a longjmp over them (which leaks their buffers and
  # skips their cleanup). Each wait holds a Rust guard counted in __test_live_waits.
  it "delivers interrupts only after the extension's Rust frames are dropped", :raises_in_thread do
    expect(HanamiGuard::Native.__test_live_waits).to eq(0)
    5.times do
      waiter = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
      sleep 0.01 until waiter.stop?
      waiter.raise(RuntimeError, "stop waiting")
      expect { waiter.join }.to raise_error(RuntimeError, "stop waiting")
      killed = Thread.new { HanamiGuard::Native.__test_wait_cancellable(30) }
      sleep 0.01 until killed.stop?
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
