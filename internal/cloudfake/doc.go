// Package cloudfake holds the checks that loopback fakes of the cloud providers use in tests
// of more than one package: an AWS SigV4 verifier that re-signs what arrived, an isolated AWS
// credential chain, and Google's OAuth token endpoint with a generated service-account key.
// It is imported only by tests.
package cloudfake
