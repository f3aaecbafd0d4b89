module github.com/securemedia/securemedia

go 1.26.0

require (
	github.com/spf13/cobra v1.10.2
	github.com/suyashkumar/dicom v1.1.0
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
	golang.org/x/text v0.43.0
	software.sslmate.com/src/go-pkcs12 v0.6.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/exp v0.0.0-20240525044651-4c93da0ed11d // indirect
)
