# frozen_string_literal: true

module ExampleApp
  module Actions
    # GET /logs?lines=3: the end of the deploy log, through `tail` with an allowlisted argument.
    class Logs < ExampleApp::Action
      include Deps["hanami_guard.commands.tail"]
      require_identity

      def handle(request, response)
        authorize! request, :read, "logs"
        response.body = tail.run!(lines: request.params[:lines].to_s).stdout
      end
    end
  end
end
