# frozen_string_literal: true

# Fail-open across the boundary, for keys: the facade checks the keys of rlimits:, fs: and the
# command's own keywords against its lists (Command::RLIMITS, FS_KEYS), and the binding reads
# the keys it knows. A key that reached the binding and that it did not read would be a limit
# or a Landlock rule dropped without a word, so the binding refuses every key it does not read,
# and every key the facade sends must be one it reads.
RSpec.describe "a config key reaching the binding" do
  def facade_config(**overrides)
    defaults = { options: [], env: {}, timeout: nil, max_output: 1 << 20, chdir: nil, rlimits: {}, fs: nil,
                 net: nil, dangerous_shell: false, path: nil, kill_grace: 2 }
    HanamiGuard::Command::Options.normalize_config(**defaults, **overrides).merge(allow: {})
  end

  def define(config) = HanamiGuard::Command.send(:_define, "true", config)

  def refusal_option(&)
    yield
    raise "no refusal"
  rescue HanamiGuard::ConfigurationError => e
    e.option
  end

  it "is read for every limit and every fs: key the facade accepts" do
    limits = { cpu: 60, as: 1 << 32, nofile: 64, nproc: 1 << 16, fsize: 1 << 30 }
    expect(limits.keys).to match_array(HanamiGuard::Command::RLIMITS)
    fs = HanamiGuard::Command::FS_KEYS.to_h { |key| [key, ["/usr"]] }
    config = facade_config(rlimits: limits, fs:, net: { connect: [443] }, timeout: 5, path: ["/usr/bin"])
    expect(config.keys).to all(be_a(Symbol))
    expect(define(config)).to be_a(HanamiGuard::Command)
  end

  it "refuses a command key the binding does not read" do
    expect(refusal_option { define(facade_config.merge(sandbox: false)) }).to eq(:command)
    expect { define(facade_config.merge(sandbox: false)) }
      .to raise_error(HanamiGuard::ConfigurationError, /Command config key `sandbox` is not known: use one of allow, /)
  end

  it "refuses a limit the binding does not read instead of dropping it" do
    config = facade_config.merge(rlimits: { cpu: 1, core: 0 })
    expect(refusal_option { define(config) }).to eq(:rlimits)
  end

  it "refuses an fs: key the binding does not read instead of dropping the rule" do
    config = facade_config.merge(fs: { read: [], write: [], exec: [], execute: ["/bin"] })
    expect(refusal_option { define(config) }).to eq(:fs)
  end

  it "refuses a key that is not a Symbol, even one spelled like a known key" do
    config = facade_config.merge(rlimits: { "nofile" => 8 })
    expect { define(config) }.to raise_error(HanamiGuard::ConfigurationError, /`"nofile"`/)
    expect(refusal_option { define(facade_config.merge("timeout" => 1)) }).to eq(:command)
  end
end
