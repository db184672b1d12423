# Integration tests: pytest (Debian's python3) driving the real binary.
set(STRAIT_PYTEST /usr/bin/python3 -m pytest -q -p no:cacheprovider)
foreach(suite cli import export durability users taxii stream tls client make_run peers
    match pattern_cli demo federation fed_limits release_e2e audit hotline
    liaison hotline_net incident lookup exports misp attack feeds lifecycle
    stix20)
  add_test(NAME integration_${suite}
    COMMAND ${STRAIT_PYTEST} ${CMAKE_CURRENT_LIST_DIR}/test_${suite}.py)
  set_tests_properties(integration_${suite} PROPERTIES
    LABELS integration
    ENVIRONMENT "STRAIT_BIN=$<TARGET_FILE:strait>;STRAIT_SRC=${PROJECT_SOURCE_DIR}")
endforeach()
