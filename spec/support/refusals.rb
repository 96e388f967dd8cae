# frozen_string_literal: true

# Matching a refusal by its structure (the class, `check` and `details` the core set), never by
# its message, which is for people and may change.
module Refusals
  # A CertificateError refused by `check` (any check when nil), whose details include `details`.
  def certificate_error(check = nil, **details)
    details = details.merge(check:) if check
    an_instance_of(HanamiGuard::CertificateError).and(having_attributes(details: a_hash_including(details)))
  end
end

RSpec.configure { |config| config.include Refusals }
