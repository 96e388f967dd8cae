# frozen_string_literal: true

# GC.stress for the whole suite, aimed at the extension.
#
#   GC_STRESS=1 bundle exec rspec         every example, with GC.stress = 1 (Ruby's flag for a
#                                         minor GC at every allocation) while the extension runs;
#                                         what bin/test runs
#   GC_STRESS=full bundle exec rspec      the same with GC.stress = true, a full GC at every
#                                         allocation (more than 40 minutes on 2 cores)
#   GC_STRESS=global bundle exec rspec    a full GC at every allocation anywhere in the process,
#                                         RSpec and fixture building included (hours)
#
# The bug GC.stress exists to catch is a Ruby object the extension holds without keeping it
# alive: a collection in the middle of a native call frees it under the extension's feet. The
# objects the extension creates are young, so a minor collection at every allocation already
# frees any of them left unreferenced. Every method the extension defines (those without a Ruby
# source location) is wrapped to switch GC.stress on for the length of the call, and RSpec,
# OpenSSL fixture building and the Ruby facade run at normal speed around it. Ruby-level
# callbacks the extension makes (duck-typed identities, blocks) run inside the call, so under
# stress too. The :gc_stress examples set a full GC.stress themselves, which the wrapper never
# weakens.
module GcStress
  MODES = { "1" => 1, "minor" => 1, "full" => true, "true" => true, "global" => :global }.freeze

  # How much slower than usual the suite runs (under GC_STRESS, or under valgrind through
  # `rake valgrind`): time bounds and race durations scale by it.
  SLOWDOWN = ENV["GC_STRESS"] || ENV["HANAMI_GUARD_VALGRIND"] ? 20 : 1

  # The resource-exhaustion specs feed the extension inputs of 100,000 items and more; under
  # GC.stress each item would cost a collection, for hours. They run with inputs 100 times
  # smaller there (the same code paths; the sizes and time bounds are checked in the plain pass).
  def self.size(count)
    ENV["GC_STRESS"] ? [count / 100, 2].max : count
  end

  def self.mode
    value = ENV.fetch("GC_STRESS", nil)
    return nil if value.nil? || value.empty? || value == "0"

    MODES.fetch(value) { raise ArgumentError, "GC_STRESS=#{value}: use 1 (minor GCs), full or global" }
  end

  # Every class and module under HanamiGuard, and their singleton classes.
  def self.targets(namespace = HanamiGuard, seen = {})
    return [] if seen[namespace]

    seen[namespace] = true
    nested = namespace.constants(false).filter_map do |name|
      value = namespace.const_get(name, false)
      value if value.is_a?(Module) && value.name&.start_with?("HanamiGuard")
    end
    [namespace, namespace.singleton_class] + nested.flat_map { |mod| targets(mod, seen) }
  end

  # Methods `mod` defines itself in the extension (no Ruby source location).
  def self.native_methods(mod)
    (mod.public_instance_methods(false) + mod.private_instance_methods(false)).select do |name|
      mod.instance_method(name).source_location.nil?
    end
  end

  def self.installed? = @installed || false

  def self.install(level)
    @installed = true
    count = 0
    targets.each do |mod|
      names = native_methods(mod)
      next if names.empty?

      count += names.size
      mod.prepend(wrapper(mod, names, level))
    end
    raise "GC_STRESS: found no native methods to wrap; is the extension loaded?" if count.zero?

    count
  end

  @lock = Mutex.new
  @depth = 0

  # GC.stress is process-wide: with several threads inside the extension at once, it stays on
  # until the last one leaves, and a stronger setting already in force (a full GC.stress set by
  # an example) is never weakened.
  def self.enter(level)
    @lock.synchronize do
      if @depth.zero?
        @previous = GC.stress
        GC.stress = level unless @previous == true
      end
      @depth += 1
    end
  end

  def self.leave
    @lock.synchronize do
      @depth -= 1
      GC.stress = @previous if @depth.zero?
    end
  end

  def self.wrapper(mod, names, level)
    Module.new do
      names.each do |name|
        visibility = if mod.private_method_defined?(name) then :private
                     elsif mod.protected_method_defined?(name) then :protected
                     else
                       :public
                     end
        define_method(name) do |*args, **kwargs, &block|
          GcStress.enter(level)
          begin
            kwargs.empty? ? super(*args, &block) : super(*args, **kwargs, &block)
          ensure
            GcStress.leave
          end
        end
        send(visibility, name)
      end
    end
  end
end
