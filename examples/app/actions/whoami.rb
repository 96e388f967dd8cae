# frozen_string_literal: true

module ExampleApp
  module Actions
    # GET /whoami: the verified client identity.
    class Whoami < ExampleApp::Action
      require_identity

      def handle(request, response)
        response.body = "#{client_identity(request).subject}\n"
      end
    end
  end
end
