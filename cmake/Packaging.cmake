# Installation layout and the Debian package (cpack -G DEB from the release build).
#   cmake --install build-release --prefix /usr     (or DESTDIR=… for staging)
#   cpack --config build-release/CPackConfig.cmake -G DEB
# CometBFT and Kubo are not Debian packages: the package ships example units for them and
# the docs say where they come from (scripts/versions.env pins the versions we test).
include(GNUInstallDirs)

install(TARGETS sleetbubbled sleetbubble RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# CometBFT config templates (merged into the config.toml `cometbft init` writes).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/cometbft-config/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sleetbubble/cometbft-config)
# systemd: our service where the distribution keeps package units; examples for the peers.
set(SLEETBUBBLE_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the sleetbubbled.service unit is installed (relative to the prefix)")
install(FILES ${PROJECT_SOURCE_DIR}/src/node/systemd/sleetbubbled.service
        DESTINATION ${SLEETBUBBLE_SYSTEMD_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/examples/cometbft.service
              ${PROJECT_SOURCE_DIR}/docs/examples/ipfs.service
              ${PROJECT_SOURCE_DIR}/docs/examples/sleetbubble-schedule.service
              ${PROJECT_SOURCE_DIR}/docs/examples/sleetbubble-schedule.timer
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# On air (protocol.md §14; docs/operators.md "On air"): the Liquidsoap script, the Icecast
# template and its renderer where the example units look for them; the units and their
# settings file as examples (they run as a user the operator creates).
install(FILES ${PROJECT_SOURCE_DIR}/scripts/onair/sleetbubble.liq
              ${PROJECT_SOURCE_DIR}/scripts/onair/icecast.xml.in
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sleetbubble/onair)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/onair/render-icecast
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sleetbubble/onair)
install(FILES ${PROJECT_SOURCE_DIR}/scripts/onair/systemd/sleetbubble-icecast.service
              ${PROJECT_SOURCE_DIR}/scripts/onair/systemd/sleetbubble-liquidsoap.service
              ${PROJECT_SOURCE_DIR}/scripts/onair/systemd/sleetbubble-onair.service
              ${PROJECT_SOURCE_DIR}/scripts/onair/systemd/onair.env.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/onair)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

set(CPACK_PACKAGE_NAME sleetbubble)
set(CPACK_PACKAGE_VENDOR "Sleetbubble")
set(CPACK_PACKAGE_CONTACT "Sleetbubble developers <dev@sleetbubble.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "decentralized radio programme: CometBFT ABCI application and CLI")
set(CPACK_PACKAGE_DESCRIPTION
    "sleetbubbled is the ABCI application a CometBFT node runs for a Sleetbubble network:
curators propose playlists of IPFS CIDs for each time slot, validators vote, every node
picks the same winner and pins it on its own Kubo (IPFS) node. sleetbubble is the CLI for
curators, validators and listeners. CometBFT and Kubo are not Debian packages: install the
versions named in /usr/share/doc/sleetbubble/operators.md with `go install`.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the ELF files' libraries through dpkg-shlibdeps (dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "liquidsoap, icecast2")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd")
set(CPACK_STRIP_FILES ON)
include(CPack)
