# frozen_string_literal: true

VALGRIND_SUPP = File.expand_path("../spec/support/valgrind/ruby-3.1.supp", __dir__)

desc "Run specs under valgrind memcheck (SPECS=paths, default spec/unit spec/adversarial; build with " \
     "HANAMI_GUARD_ALLOCATOR=system first); fails on any definite leak or memory error not covered by " \
     "spec/support/valgrind/ruby-3.1.supp"
task :valgrind do
  # memcheck sees the C library's malloc only: the extension must be built without mimalloc.
  allocator = `#{RbConfig.ruby} -Ilib -e 'require "hanami_guard"; print HanamiGuard::Native::ALLOCATOR'`
  unless allocator == "system"
    abort "valgrind: the extension allocates from #{allocator.inspect}, which memcheck cannot see: " \
          "build it with `HANAMI_GUARD_ALLOCATOR=system bundle exec rake compile` first"
  end
  specs = ENV.fetch("SPECS", "spec/unit spec/adversarial").split
  log = File.expand_path("../tmp/valgrind.log", __dir__)
  FileUtils.mkdir_p(File.dirname(log))
  command = [
    "valgrind", "--tool=memcheck", "--leak-check=full",
    "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
    "--num-callers=50", "--max-stackframe=8400000",
    "--suppressions=#{VALGRIND_SUPP}", "--log-file=#{log}",
    "ruby", "-S", "rspec", *specs
  ]
  # valgrind 3.19 does not know openat2 or pidfd_open: they fail with ENOSYS, so this run goes
  # through the Root walker and the fallback wait, which is worth checking too.
  # HANAMI_GUARD_VALGRIND stretches the specs' time bounds (spec/support/gc_stress.rb) and skips
  # the one spec valgrind cannot host (a child changing its rlimits before exec).
  specs_ok = system({ "HANAMI_GUARD_VALGRIND" => "1" }, *command)
  text = File.read(log)
  # Forked children (the fork path of Command) print their own summaries: take the worst.
  errors = text.scan(/ERROR SUMMARY: (\d+) errors/).flatten.map(&:to_i).max || 0
  definite = text.scan(/definitely lost: ([\d,]+) bytes/).flatten.map { |n| n.delete(",").to_i }.max || 0
  suppressed = text.scan(/ERROR SUMMARY: .*suppressed: (\d+)/).flatten.map(&:to_i).max
  ours = text.scan(/^==\d+== \S.*?(?=^==\d+== \n)/m).count do |record|
    record.include?("hanami_guard") && !record.include?("Command: ") # not the header naming the specs
  end
  puts "valgrind: #{errors} unsuppressed errors (#{suppressed} suppressed), #{definite} bytes definitely " \
       "lost outside the suppressions, #{ours} reports with an extension frame; log: #{log}"
  abort "valgrind: the specs failed under valgrind" unless specs_ok
  abort "valgrind: memcheck reported errors or leaks; read #{log}" unless errors.zero?
end
