/* kernelspecs_data.S — embeds the files every kernelspec folder gets (logos, the
 * IPython startup file and the package spark_k8s_session it loads, Spark's logging
 * configuration) in the binary, each as SYM .. SYM_end followed by a NUL,
 * read by launcher/plan/kernelspec.c. The Makefile rebuilds this object when they change. */
    .section .rodata

    .global spark_k8s_logo_svg, spark_k8s_logo_svg_end
spark_k8s_logo_svg:
    .incbin "kernelspecs/logo-svg.svg"
spark_k8s_logo_svg_end:
    .byte 0

    .global spark_k8s_logo_32, spark_k8s_logo_32_end
spark_k8s_logo_32:
    .incbin "kernelspecs/logo-32x32.png"
spark_k8s_logo_32_end:
    .byte 0

    .global spark_k8s_logo_64, spark_k8s_logo_64_end
spark_k8s_logo_64:
    .incbin "kernelspecs/logo-64x64.png"
spark_k8s_logo_64_end:
    .byte 0

    .global spark_k8s_session_py, spark_k8s_session_py_end
spark_k8s_session_py:
    .incbin "kernelspecs/spark_session.py"
spark_k8s_session_py_end:
    .byte 0

    .global spark_k8s_pkg_init_py, spark_k8s_pkg_init_py_end
spark_k8s_pkg_init_py:
    .incbin "kernelspecs/spark_k8s_session/__init__.py"
spark_k8s_pkg_init_py_end:
    .byte 0

    .global spark_k8s_pkg_settings_py, spark_k8s_pkg_settings_py_end
spark_k8s_pkg_settings_py:
    .incbin "kernelspecs/spark_k8s_session/settings.py"
spark_k8s_pkg_settings_py_end:
    .byte 0

    .global spark_k8s_pkg_jvm_py, spark_k8s_pkg_jvm_py_end
spark_k8s_pkg_jvm_py:
    .incbin "kernelspecs/spark_k8s_session/jvm.py"
spark_k8s_pkg_jvm_py_end:
    .byte 0

    .global spark_k8s_pkg_session_py, spark_k8s_pkg_session_py_end
spark_k8s_pkg_session_py:
    .incbin "kernelspecs/spark_k8s_session/session.py"
spark_k8s_pkg_session_py_end:
    .byte 0

    .global spark_k8s_pkg_interrupts_py, spark_k8s_pkg_interrupts_py_end
spark_k8s_pkg_interrupts_py:
    .incbin "kernelspecs/spark_k8s_session/interrupts.py"
spark_k8s_pkg_interrupts_py_end:
    .byte 0

    .global spark_k8s_pkg_cells_py, spark_k8s_pkg_cells_py_end
spark_k8s_pkg_cells_py:
    .incbin "kernelspecs/spark_k8s_session/cells.py"
spark_k8s_pkg_cells_py_end:
    .byte 0

    .global spark_k8s_pkg_progress_py, spark_k8s_pkg_progress_py_end
spark_k8s_pkg_progress_py:
    .incbin "kernelspecs/spark_k8s_session/progress.py"
spark_k8s_pkg_progress_py_end:
    .byte 0

    .global spark_k8s_pkg_tables_py, spark_k8s_pkg_tables_py_end
spark_k8s_pkg_tables_py:
    .incbin "kernelspecs/spark_k8s_session/tables.py"
spark_k8s_pkg_tables_py_end:
    .byte 0

    .global spark_k8s_pkg_helper_py, spark_k8s_pkg_helper_py_end
spark_k8s_pkg_helper_py:
    .incbin "kernelspecs/spark_k8s_session/helper.py"
spark_k8s_pkg_helper_py_end:
    .byte 0

    .global spark_k8s_pkg_notebook_conf_py, spark_k8s_pkg_notebook_conf_py_end
spark_k8s_pkg_notebook_conf_py:
    .incbin "kernelspecs/spark_k8s_session/notebook_conf.py"
spark_k8s_pkg_notebook_conf_py_end:
    .byte 0

    .global spark_k8s_log4j2, spark_k8s_log4j2_end
spark_k8s_log4j2:
    .incbin "kernelspecs/log4j2.properties"
spark_k8s_log4j2_end:
    .byte 0

    .section .note.GNU-stack,"",@progbits
