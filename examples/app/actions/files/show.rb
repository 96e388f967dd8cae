# frozen_string_literal: true

module ExampleApp
  module Actions
    module Files
      # GET /files?path=docs/runbook.txt: a file under public/, never anything outside it.
      class Show < ExampleApp::Action
        include Deps["hanami_guard.roots.public_files"]
        require_identity
        config.handle_exception Errno::ENOENT => 404, Errno::EISDIR => 404

        def handle(request, response)
          authorize! request, :read, "files"
          response.body = public_files.read(request.params[:path].to_s, max_bytes: 64 * 1024)
        end
      end
    end
  end
end
