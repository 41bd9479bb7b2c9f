// Package packaging holds no code: nfpm.yaml describes the .deb and the
// .rpm that make deb and make rpm build from one list of files, with the
// maintainer scripts under scripts/; the tests build both, check their
// contents and scripts, and install each into a scratch root.
package packaging
