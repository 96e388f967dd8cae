# frozen_string_literal: true

module ExampleApp
  module Actions
    # GET /whoami: the verified client identity.
    class Whoami < ExampleApp::Action
      require_identity
      skip_authorization "shows a client its own verified identity, and nothing else"

      def handle(request, response)
        response.body = "#{client_identity(request).subject}\n"
      end
    end
  end
end
