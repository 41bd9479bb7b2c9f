// Package packaging holds no code: nfpm.yaml describes the .deb that make
// deb builds, and the test builds one and installs it.
package packaging
