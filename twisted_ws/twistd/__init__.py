"""
The pieces of C{twistd websocket}, which L{twisted_ws.tap} puts together:

  - C{_values}: the parsers of option values (sizes, durations, version
    lists, paths) and how each kind of value is shown;
  - C{_library}: the options that set a field of L{twisted_ws.Options},
    made from the fields' metadata, and the options built from their values;
  - C{_config}: the server's description, read from the command line and a
    TOML file, with every problem found reported at once;
  - C{_apps}: loading applications and building each from an C{AppContext};
  - C{_site}: the resource tree of applications and static files;
  - C{_services}: the listening services and the applications' own;
  - C{_docs}: the manual's option tables, made from the same metadata.
"""
