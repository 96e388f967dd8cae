# frozen_string_literal: true

require "spec_helper"
require "open3"
require "rbconfig"

# Container runtimes filter system calls with seccomp, and a profile that predates openat2
# answers it with ENOSYS (or EPERM, Docker's default for calls it does not know). A Root must
# still confine there, through its walker, exactly as documented: `resolver: :auto` works,
# `resolver: :kernel` refuses to start, and every escape is still refused.
#
# The filter is real: a small launcher, compiled here, installs a seccomp filter that answers
# openat2 with the given errno, then execs Ruby, which runs the checks below.
module SeccompHiddenOpenat2
  LAUNCHER = <<~C
    #include <errno.h>
    #include <stddef.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>
    #include <linux/audit.h>
    #include <linux/filter.h>
    #include <linux/seccomp.h>
    #include <sys/prctl.h>

    int main(int argc, char **argv) {
      if (argc < 3) return 2;
      unsigned int err = (unsigned int)atoi(argv[1]);
      struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 437 /* openat2 on x86_64 */, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return 126; }
      if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) { perror("PR_SET_SECCOMP"); return 126; }
      execv(argv[2], argv + 2);
      perror("execv");
      return 127;
    }
  C

  # Runs in the filtered process: prints one "check=outcome" line per check.
  CHECKS = <<~'RUBY'
    require "hanami_guard"
    require "tmpdir"
    def outcome
      r = yield
      r.is_a?(String) ? "ok #{r}" : "ok"
    rescue StandardError => e
      e.class.name
    end
    Dir.mktmpdir do |tmp|
      base = File.join(File.realpath(tmp), "base")
      Dir.mkdir(base)
      Dir.mkdir(File.join(base, "dir"))
      File.write(File.join(tmp, "secret.txt"), "CANARY")
      File.write(File.join(base, "a.txt"), "A")
      File.symlink("../a.txt", File.join(base, "dir/back"))
      File.symlink("../secret.txt", File.join(base, "out_rel"))
      File.symlink(File.join(tmp, "secret.txt"), File.join(base, "out_abs"))
      File.symlink("/proc/self/root", File.join(base, "proc_root"))
      File.symlink("a.txt/", File.join(base, "slash"))
      root = HanamiGuard::Root.new(base)
      {
        "kernel" => -> { HanamiGuard::Root.new(base, resolver: :kernel) },
        "read" => -> { root.read("dir/back") },
        "dotdot" => -> { root.read("../secret.txt") },
        "out_rel" => -> { root.read("out_rel") },
        "out_abs" => -> { root.read("out_abs") },
        "proc" => -> { root.read("proc_root/etc/hostname") },
        "slash" => -> { root.read("slash") },
        "write_out" => -> { root.write("out_rel", "PWNED") },
        "write" => -> { root.write("dir/new.txt", "N") && root.read("dir/new.txt") },
        "store" => -> { root.store("S", extension: "txt").end_with?(".txt").to_s },
        "resolve" => -> { root.resolve("dir/back").delete_prefix(base) },
        "available" => -> { HanamiGuard::Root.openat2_available?.inspect }
      }.each { |name, check| puts "#{name}=#{outcome(&check)}" }
      puts "canary=#{File.read(File.join(tmp, "secret.txt"))}"
    end
  RUBY
end

RSpec.describe "openat2 hidden by a seccomp filter, under HanamiGuard::Root" do
  before(:context) do
    skip "the launcher's filter is written for x86_64" unless RbConfig::CONFIG["host_cpu"] == "x86_64"
    @dir = Dir.mktmpdir("hanami_guard-seccomp")
    File.write(File.join(@dir, "launcher.c"), SeccompHiddenOpenat2::LAUNCHER)
    @launcher = File.join(@dir, "launcher")
    out, status = Open3.capture2e("cc", "-O2", "-o", @launcher, File.join(@dir, "launcher.c"))
    skip "cannot compile the seccomp launcher (#{out.lines.first&.strip}): needs a C compiler" unless status.success?
  end

  after(:context) { FileUtils.remove_entry(@dir) if @dir }

  def run_filtered(errno)
    lib = File.expand_path("../../lib", __dir__)
    checks = SeccompHiddenOpenat2::CHECKS
    out, err, status = Open3.capture3(@launcher, errno.to_s, RbConfig.ruby, "-I", lib, "-e", checks)
    expect(status).to be_success, "the filtered Ruby failed: #{err}"
    out.lines.to_h { |line| line.chomp.split("=", 2) }
  end

  it "uses openat2 when nothing hides it (sanity: the filter is what changes things)" do
    expect(HanamiGuard::Root.new(Dir.tmpdir, resolver: :kernel).resolver).to eq(:kernel)
  end

  { "ENOSYS" => Errno::ENOSYS::Errno, "EPERM" => Errno::EPERM::Errno }.each do |name, errno|
    it "confines as documented when seccomp answers openat2 with #{name}" do
      results = run_filtered(errno)
      expect(results).to include(
        "kernel" => "HanamiGuard::ConfigurationError",
        "read" => "ok A", "write" => "ok N", "store" => "ok true", "resolve" => "ok /a.txt",
        "dotdot" => "HanamiGuard::PathEscapeError", "out_rel" => "HanamiGuard::PathEscapeError",
        "out_abs" => "HanamiGuard::PathEscapeError", "proc" => "HanamiGuard::PathEscapeError",
        "write_out" => "HanamiGuard::PathEscapeError", "slash" => "Errno::ENOTDIR",
        "canary" => "CANARY"
      )
      # ENOSYS means "this kernel has no openat2": remembered, so later calls go straight to the
      # walker. EPERM may be a real refusal, so each call asks the kernel again.
      expect(results["available"]).to eq(name == "ENOSYS" ? "ok false" : "ok nil")
    end
  end
end
