# frozen_string_literal: true

# Policy texts that several specs read, written once. A spec that varies one (`sub`) shows the
# change where it makes it.
module PolicyFixtures
  # One allow rule: MyOrg's operators may deploy the worker.
  OPERATORS_DEPLOY = <<~YAML
    version: 1
    rules:
      - id: operators-deploy
        effect: allow
        actions: [deploy]
        resources: [worker]
        principals:
          - subject: { CN: operator, O: MyOrg }
  YAML

  # The same rule on the worker and the api, for operators whose certificate MyOrg's internal CA
  # issued (so an identity can match the subject and miss the issuer).
  OPERATORS_DEPLOY_FROM_INTERNAL_CA = <<~YAML
    version: 1
    rules:
      - id: operators-deploy
        effect: allow
        actions: [deploy]
        resources: [worker, api]
        principals: [{ subject: { CN: operator, O: MyOrg }, issuer: { CN: MyOrg Internal CA } }]
  YAML
end
