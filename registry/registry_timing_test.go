package registry

import "testing"

func BenchmarkRender(b *testing.B) {
	msgs := []TemplateMessage{
		{Role: "system", Content: "You write short, warm emails for {{product}}."},
		{Role: "user", Content: "Write a welcome email to {{ name }} about {{product}}; mention {{city}}."},
	}
	vars := map[string]string{"name": "Alice", "product": "Tracia", "city": "Oslo"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(msgs, vars); err != nil {
			b.Fatal(err)
		}
	}
}
