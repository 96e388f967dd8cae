# frozen_string_literal: true

# Fail-open across the boundary: the facade sends each allowlist to the binding as a kind name
# ("one_of", "map", or "any" for a Regexp or Proc the facade applies itself). A kind the binding
# did not know used to become "allow any value", so one typo between the two layers would let
# every request value through. An unknown kind must refuse the definition.
RSpec.describe "an unknown allowlist kind reaching the binding" do
  let(:base) { { options: [], env: [], max_output: 1024, dangerous_shell: false, kill_grace: 1.0 } }

  ["one-of", "oneof", "ONE_OF", "", "allow_all", "regexp"].each do |kind|
    it "refuses the kind #{kind.inspect} instead of allowing every value" do
      config = base.merge(allow: { "x" => [kind, ["safe"]] })
      expect { HanamiGuard::Command.send(:_define, "printf %s {x}", config) }
        .to raise_error(HanamiGuard::ConfigurationError, /allow: kind .* one_of, map, any/)
    end
  end

  it "still converts every kind the facade sends" do
    config = base.merge(allow: { "x" => ["one_of", ["safe"]], "y" => ["map", { "k" => "v" }], "z" => ["any"] })
    cmd = HanamiGuard::Command.send(:_define, "printf %s {x} {y} {z}", config)
    expect(cmd.send(:_argv, %w[safe k free]).drop(2)).to eq(%w[safe v free])
    expect { cmd.send(:_argv, %w[evil k free]) }.to raise_error(HanamiGuard::CommandNotAllowed)
  end

  ["port", "unrestricted!", "any", ""].each do |kind|
    it "refuses the net: kind #{kind.inspect} instead of leaving TCP open" do
      config = base.merge(net: [kind, [], []])
      expect { HanamiGuard::Command.send(:_define, "true", config) }
        .to raise_error(HanamiGuard::ConfigurationError, /net: kind .* ports, unrestricted/)
    end
  end
end
