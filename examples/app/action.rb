# frozen_string_literal: true

module ExampleApp
  # The app's base action: every action inherits hanami_guard's error => status mappings and the
  # policy the provider registered.
  class Action < Hanami::Action
    include HanamiGuard::Action
    guard_policy Hanami.app["hanami_guard.policy"]

    # Optional: answer a policy refusal with the deciding rule as a reason code, as the middleware
    # does for 401s, and keep the module's mappings for everything else.
    config.handle_exception HanamiGuard::Forbidden => :forbidden

    private

    def forbidden(_request, response, exception)
      response.status = 403
      response.body = "forbidden: #{exception.decision&.rule_id || "default-deny"}\n"
    end
  end
end
