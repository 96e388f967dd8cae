# frozen_string_literal: true

module ExampleApp
  module Actions
    module Containers
      # POST /deploy?container=worker: operators only; the image comes from the allowlist, never
      # from the request.
      class Deploy < ExampleApp::Action
        include Deps["hanami_guard.commands.deploy"]
        require_identity

        def handle(request, response)
          halt 405 unless request.post?
          container = request.params[:container].to_s
          decision = authorize! request, :deploy, container
          response.body = "#{deploy.run!(image: container).stdout.chomp} (rule #{decision.rule_id})\n"
        end
      end
    end
  end
end
