# The two commands of the README. Everything else is a step of these.
.PHONY: demo test venv sanity clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

venv:
	bash scripts/bootstrap-venv.sh

sanity: venv
	bash scripts/sanity.sh

clean:
	rm -rf .venv .tmp tests/output
