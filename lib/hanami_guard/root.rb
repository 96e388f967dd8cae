# frozen_string_literal: true

module HanamiGuard
  # File access confined beneath a base directory.
  #
  # Replaces `File.read(File.join(BASE, params[:filename]))` and its usual fix (`cleanpath` plus
  # `start_with?`), which fails on symlinks, on sibling directories sharing a prefix
  # (`/var/app/public_evil`) and on a directory swapped for a symlink between the check and the
  # open. A Root opens its base directory once; every path given to it is resolved from that
  # descriptor by the kernel (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`) or, where
  # the kernel lacks it, by a walk that opens one name at a time with `O_NOFOLLOW`. There is no
  # check-then-open window to race.
  #
  # Paths are relative Strings (or Pathnames). Errors:
  # - {PathError}: empty, NUL byte, longer than PATH_MAX, absolute, backslash or drive letter,
  #   invalid UTF-8;
  # - {PathEscapeError}: a `..` above the base (refused, never clamped), a symlink whose target
  #   leaves the base (absolute targets always do), a `/proc` magic link, any symlink with
  #   `symlinks: :deny`, a mount crossing with `xdev: false`;
  # - otherwise what Ruby's `File` raises: `Errno::ENOENT`, `Errno::ENOTDIR`, `Errno::ELOOP`,
  #   `Errno::EISDIR`, `Errno::EACCES`, ...
  #
  # A Root is frozen and safe to share between threads. Its descriptor is close-on-exec, so child
  # processes never inherit it; {#close} releases it, and so does garbage collection.
  #
  # @example
  #   Dir.mkdir("public")                 # given: a directory, and a request's parameters
  #   File.write("public/a.txt", "hello")
  #   params = { file: "a.txt" }          # request.params in an action
  #
  #   PUBLIC = HanamiGuard::Root.new("public")
  #   PUBLIC.read(params[:file], max_bytes: 10 << 20)   # => "hello"
  #
  # @api public
  # @since 0.1.0
  class Root
    # Extensions {Root.safe_name} keeps unless told otherwise: common, inert upload types.
    # (No `svg` or `html`: a browser runs scripts in them.)
    DEFAULT_SAFE_EXTENSIONS = %w[png jpg jpeg gif webp avif pdf txt csv json].freeze

    class << self
      # Opens the base directory.
      #
      # @param path [String, Pathname] the base directory (symlinks in it are followed: it is
      #   configuration, not input)
      # @param symlinks [Symbol] `:confined` (follow symlinks that stay inside, refuse the rest)
      #   or `:deny` (refuse every symlink)
      # @param resolver [Symbol] `:auto` (openat2 where the kernel has it, else the walk),
      #   `:kernel` (openat2; raises ConfigurationError where it is missing) or `:walk` (force
      #   the component walk: for tests, or where a seccomp filter hides openat2)
      # @param xdev [Boolean] `false` refuses paths that cross into another mounted file system
      # @return [Root]
      # @raise [ConfigurationError] the base is missing, not a directory or not accessible
      # @raise [ArgumentError] an unknown `symlinks:` or `resolver:` (the core lists the known ones)
      def new(path, symlinks: :confined, resolver: :auto, xdev: true)
        path = path.to_path if path.respond_to?(:to_path)
        unless path.is_a?(String)
          raise TypeError, "Root.new expects the base directory as a String or Pathname, got #{path.class}"
        end
        raise ArgumentError, "xdev: must be true or false, got #{xdev.inspect}" unless [true, false].include?(xdev)

        _new(path, name_of(symlinks), name_of(resolver), xdev).freeze
      end

      # A safe, collision-resistant file name for an upload: the SHA-256 (hex) of `name`, plus
      # its extension if it is in `extensions` (compared case-insensitively, written
      # lowercase). Nothing else of `name` survives: no `/`, `..`, NUL, leading dot or double
      # extension. The same name always gives the same result; put something unique in `name`
      # (an upload id) when two uploads may share a name.
      #
      # @example
      #   HanamiGuard::Root.safe_name("../../etc/passwd.png") # => "3f1c...e9.png"
      # @param name [String] the original file name (untrusted)
      # @param extensions [Array<String, Symbol>] the extensions to keep
      # @return [String]
      # @raise [PathError] the name is empty
      def safe_name(name, extensions: DEFAULT_SAFE_EXTENSIONS)
        raise TypeError, "Root.safe_name expects a String, got #{name.class}" unless name.is_a?(String)

        _safe_name(name, extension_list(extensions))
      end

      private

      def extension_list(extensions)
        unless extensions.is_a?(Array) && extensions.all? { |e| e.is_a?(String) || e.is_a?(Symbol) }
          raise TypeError, "extensions: must be an Array of Strings, such as %w[png jpg]"
        end

        extensions.map(&:to_s)
      end

      # A mode's name for the core, which knows the modes and refuses the rest.
      def name_of(mode)
        mode.is_a?(Symbol) ? mode.to_s : mode.inspect
      end

      public

      # Whether this kernel has openat2 (nil until a Root has used it once).
      # @api private
      def openat2_available?
        _openat2_available
      end
    end

    # @!method path
    #   @return [String] the canonical absolute path of the base
    # @!method close
    #   Releases the base directory's descriptor. Later calls raise IOError.
    #   @return [nil]
    # @!method closed?
    #   @return [Boolean]

    # @return [Symbol] `:confined` or `:deny`
    def symlinks
      _options[0]
    end

    # @return [Symbol] `:auto`, `:kernel` or `:walk`
    def resolver
      _options[1]
    end

    # @return [Boolean] whether paths may cross mount points
    def xdev?
      _options[2]
    end

    # Reads a whole file.
    #
    # @param path [String, Pathname] relative to the root
    # @param max_bytes [Integer, nil] refuse (Errno::EFBIG) a larger file before reading it
    # @return [String] the content, binary (ASCII-8BIT)
    def read(path, max_bytes: nil)
      unless max_bytes.nil? || (max_bytes.is_a?(Integer) && max_bytes >= 0)
        raise ArgumentError, "max_bytes: must be a non-negative Integer or nil, got #{max_bytes.inspect}"
      end

      _read(rel(path), max_bytes)
    end

    # Opens a file race-free and returns a real `File` ({OpenedFile}) built from the descriptor, so
    # `IO.copy_stream`, `send_file` bodies and `#path`/`#to_path` work. Symlinks (the last one
    # included) are followed when they stay inside. Only regular files open: a directory raises
    # Errno::EISDIR, a FIFO/socket/device PathError. Every check comes before the mode's side
    # effects ("w" truncates only once the file is accepted). For writing, a setuid or setgid
    # file that belongs to another user or has a second hard link is refused (PathError): its
    # bits would stay on the new content; {#write} replaces such a file instead.
    #
    # @param path [String, Pathname] relative to the root
    # @param mode [String] as for `File.open`: "r", "w", "a", "r+", "w+", "a+", with "b", "t",
    #   "x" (with "w") and ":encoding"
    # @param perm [Integer] permission bits for a file the mode creates (less the umask)
    # @yieldparam io [File] closed when the block returns
    # @return [File, Object] the File, or the block's value
    def open(path, mode = "r", perm = 0o644)
      raise TypeError, "mode must be a String such as \"r\" or \"wb\", got #{mode.class}" unless mode.is_a?(String)
      raise TypeError, "perm must be an Integer such as 0o644, got #{perm.class}" unless perm.is_a?(Integer)

      file = build_file(rel(path), mode, perm)
      return file unless block_given?

      begin
        yield file
      ensure
        file.close unless file.closed?
      end
    end

    # Replaces (or creates) a file atomically: a temporary file in the same directory, written,
    # given its final mode, fsync'ed and renamed over the target. A final symlink is refused
    # (PathEscapeError) and left unchanged; nothing is ever created outside. Parent directories
    # must exist ({#mkdir_p}).
    #
    # A write never moves privilege. A file owned by another user is refused (PathError) and
    # left as it was, unless `replace_foreign: true`: whoever planted it chose its name and mode.
    # A replaced file keeps its permission bits, but its setuid, setgid and sticky bits only when
    # the new file has the same owner and group (and the old one had no other hard link). The
    # temporary file is never more readable than the file it becomes.
    #
    # @param path [String, Pathname] relative to the root
    # @param data [String] the content (written as bytes)
    # @param perm [Integer] permission bits of a new file (less the umask); an existing file
    #   keeps its own
    # @param replace_foreign [Boolean] replace a file owned by another user (the new file is
    #   this process's, without special bits)
    # @return [Integer] the number of bytes written
    # @raise [PathError] the file belongs to another user (and `replace_foreign` is false)
    def write(path, data, perm: 0o644, replace_foreign: false)
      raise TypeError, "Root#write expects the data as a String, got #{data.class}" unless data.is_a?(String)
      raise TypeError, "perm: must be an Integer such as 0o644, got #{perm.class}" unless perm.is_a?(Integer)
      unless [true, false].include?(replace_foreign)
        raise ArgumentError, "replace_foreign: must be true or false, got #{replace_foreign.inspect}"
      end

      _write(rel(path), data, perm, replace_foreign)
    end

    # Stores content under a name made from it: the SHA-256 (hex) of the bytes, plus
    # `extension` when it is allowlisted (the rule of {Root.safe_name}: 1-16 letters or digits,
    # compared case-insensitively, written lowercase; anything else is dropped). Unlike a name
    # from {Root.safe_name}, two different uploads called `cat.png` never share a name, and a
    # second store of the same bytes returns the same name without writing.
    #
    # The file is written as {#write} writes (temporary file, fsync) and put in place only if
    # the name is free, so different content is never overwritten. A file already at the name
    # must be this process's user's regular file holding the same bytes: a symlink raises
    # PathEscapeError, another user's file PathError, different content Errno::EEXIST.
    #
    # @example
    #   require "tempfile"   # given: an upload, as Rack and Hanami hand it over (a Hash)
    #   tempfile = Tempfile.new.tap { |t| t.write("png") && t.rewind }
    #   upload = { filename: "cat.png", type: "image/png", tempfile: tempfile }
    #   Dir.mkdir("public")
    #   Dir.mkdir("public/uploads")
    #   PUBLIC = HanamiGuard::Root.new("public")
    #
    #   UPLOADS = PUBLIC.subroot("uploads")
    #   name = UPLOADS.store(upload[:tempfile], extension: File.extname(upload[:filename]))
    #   # => "9f86d0...0f00a08.png"
    # @param data [String, #read] the content (an IO is read whole, from where it stands)
    # @param extension [String, Symbol, nil] such as ".png", "png" or the original file's
    #   extension
    # @param extensions [Array<String, Symbol>] the extensions that may be kept
    # @param perm [Integer] permission bits of the new file (less the umask; no setuid, setgid
    #   or sticky)
    # @return [String] the stored file's name, in this Root's base directory
    # @api public
    # @since 0.1.0
    def store(data, extension: nil, extensions: DEFAULT_SAFE_EXTENSIONS, perm: 0o644)
      data = data.read if !data.is_a?(String) && data.respond_to?(:read)
      raise TypeError, "Root#store expects a String or an IO, got #{data.class}" unless data.is_a?(String)
      unless extension.nil? || extension.is_a?(String) || extension.is_a?(Symbol)
        raise TypeError, "extension: must be a String such as \".png\", or nil, got #{extension.class}"
      end
      raise TypeError, "perm: must be an Integer such as 0o644, got #{perm.class}" unless perm.is_a?(Integer)

      _store(data, extension&.to_s, self.class.send(:extension_list, extensions), perm)
    end

    # Creates a directory and its missing parents, like `FileUtils.mkdir_p`, never outside.
    #
    # @param path [String, Pathname] relative to the root
    # @param perm [Integer] permission bits of new directories (less the umask)
    # @return [nil]
    def mkdir_p(path, perm: 0o755)
      raise TypeError, "perm: must be an Integer such as 0o755, got #{perm.class}" unless perm.is_a?(Integer)

      _mkdir_p(rel(path), perm)
    end

    # Whether something exists at `path`. Malformed or escaping paths still raise (PathError,
    # PathEscapeError): a probe is no way around the root.
    # @param path [String, Pathname]
    # @return [Boolean]
    def exist?(path)
      _kind(rel(path)) != :missing
    end

    # @param path [String, Pathname]
    # @return [Boolean] whether `path` is a regular file (symlinks inside followed)
    def file?(path)
      _kind(rel(path)) == :file
    end

    # @param path [String, Pathname]
    # @return [Boolean] whether `path` is a directory (symlinks inside followed)
    def directory?(path)
      _kind(rel(path)) == :directory
    end

    # @param path [String, Pathname]
    # @return [File::Stat] of the file (symlinks inside followed)
    def stat(path)
      io = IO.for_fd(_stat_fd(rel(path)), autoclose: true)
      begin
        io.stat
      ensure
        io.close
      end
    end

    # The names in a directory. A name that is valid UTF-8 comes back as a UTF-8 String, any
    # other as a binary (ASCII-8BIT) String, so `grep` and `=~` work on every name. Some names
    # that exist cannot be given back to the other methods, which refuse them as paths
    # (PathError): names that are not UTF-8, names with a backslash, and names that start with a
    # drive-letter form (`c:x`). Skip or rename those; never rewrite them into something else.
    #
    # @param path [String, Pathname] a directory relative to the root (default: the root)
    # @return [Array<String>] the names in it, sorted by bytes, without "." and ".."
    def entries(path = ".")
      _entries(rel(path))
    end

    # The canonical absolute path of `path`, for logs and legacy APIs. Like
    # `File.realdirpath`: directories on the way must exist, the last name may be missing; the
    # decision (escape, ENOTDIR, ...) is the same as {#read}'s.
    #
    # A display name, not a capability: it is built from {#path}, the base as it was named when
    # the Root was opened. If the base directory is later moved or replaced by a symlink, the
    # Root keeps working on the directory it holds while this String names whatever is at the
    # old place now. Pass the Root (or a {#subroot}) around, never this String, to anything that
    # opens files.
    #
    # @param path [String, Pathname]
    # @return [String]
    def resolve(path)
      _resolve(rel(path))
    end

    # A Root for a subdirectory, itself confined (its symlinks cannot lead back up).
    #
    # @param path [String, Pathname]
    # @return [Root]
    def subroot(path)
      _subroot(rel(path)).freeze
    end

    # @return [String]
    def inspect
      return "#<#{self.class.name} (closed)>" if closed?

      "#<#{self.class.name} #{path} symlinks=#{symlinks} resolver=#{resolver}>"
    end

    alias to_s inspect

    private

    def rel(path)
      return path if path.is_a?(String)

      path = path.to_path if path.respond_to?(:to_path)
      return path if path.is_a?(String)

      # A PathError (400 in an action), not a TypeError (500): the usual cause is a request
      # parameter that is missing (nil) or was sent as a list or a hash (`name[]=x`).
      hint = " (a missing or non-scalar request parameter?)" if path.nil? || path.is_a?(Array) || path.is_a?(Hash)
      raise PathError.new("expected a relative path as a String or Pathname, got #{path.class}#{hint}",
                          details: { check: :not_string })
    end

    # The descriptor is ours until File owns it: close it if File.new fails, and keep an
    # interrupt (Thread#raise, Timeout) from landing between the two.
    def build_file(path, mode, perm)
      Thread.handle_interrupt(Object => :never) do
        fd = _open(path, mode, perm)
        begin
          file = OpenedFile.new(fd, mode.delete("x"))
        rescue Exception # rubocop:disable Lint/RescueException -- the fd must not leak, whatever failed
          IO.for_fd(fd, autoclose: true).close
          raise
        end
        file.instance_variable_set(:@hanami_guard_fallback_path, "#{self.path}/#{path}")
        file
      end
    end

    # The `File` {Root#open} returns: a plain `File` whose `#path`/`#to_path` name the file
    # opened (Ruby 3.1's `File.new(fd)` has none, and Rack bodies and logs want one).
    #
    # @api public
    # @since 0.1.0
    class OpenedFile < ::File
      # @return [String] the canonical path of the open file, as the kernel names it
      def path
        @path ||= begin
          ::File.readlink("/proc/self/fd/#{fileno}")
        rescue IOError, SystemCallError
          @hanami_guard_fallback_path
        end
      end

      alias to_path path
    end

    # Reports every refused path (`path.refused`: the operation, the path as asked, the
    # error's class and message) before raising it on, when anybody listens.
    #
    # @api private
    module RefusalEvents
      # Not store: its argument is the content, not a path.
      %i[read open write mkdir_p exist? file? directory? stat entries resolve subroot].each do |operation|
        define_method(operation) do |*args, **options, &block|
          super(*args, **options, &block)
        rescue PathError => e
          if Events.listening?("path.refused")
            asked = args.first.is_a?(String) ? args.first : args.first.class.name
            Events.emit("path.refused",
                        { operation:, path: asked, root: path, error: e.class.name, message: e.message })
          end
          raise
        end
      end
    end
    prepend RefusalEvents
  end
end
