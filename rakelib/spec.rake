# frozen_string_literal: true

desc "Run the RSpec suite (GC_STRESS=1 runs the examples under GC.stress)"
task :spec do
  sh "rspec"
end

namespace :spec do
  desc "Run the binding specs under GC.stress"
  task :gc_stress do
    sh({ "GC_STRESS" => "1" }, "rspec", "--tag", "~slow")
  end
end
