/* matrix_data.S — embeds images/matrix.json in the binary, NUL-terminated, as
 * spark_k8s_matrix_json (read by launcher/images/matrix.c). The Makefile rebuilds this
 * object whenever images/matrix.json changes. */
    .section .rodata
    .global spark_k8s_matrix_json
    .type spark_k8s_matrix_json, @object
    .balign 16
spark_k8s_matrix_json:
    .incbin "images/matrix.json"
    .byte 0
    .size spark_k8s_matrix_json, . - spark_k8s_matrix_json

    .section .note.GNU-stack,"",@progbits
