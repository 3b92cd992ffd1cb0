package provider

import (
	"errors"

	"github.com/tracegate/tracegate/config"
)

func setupBedrock(b *Backend, p config.Provider) error { return errors.New("bedrock: not yet") }
