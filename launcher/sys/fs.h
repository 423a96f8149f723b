/* fs.h — removing a directory tree, the one way the launcher does it.
 *
 * Symbolic links are removed, never followed: a link inside the tree to a place
 * outside it leaves that place alone. */
#ifndef SPARK_K8S_FS_H
#define SPARK_K8S_FS_H

/* Remove PATH and everything under it (no symlinks followed). A PATH that does
 * not exist, or an entry that vanishes meanwhile, is not an error.
 * Returns 0, or -1 with errno. */
int remove_tree(const char *path);

#endif
