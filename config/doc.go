// Package config owns tracegate's configuration file: the structs behind its public YAML keys,
// Load (environment expansion, strict decoding), defaults, and Validate, which reports every
// problem at once.
package config
